// Sign in / the account's name and Sign out, for the popup and the options page. The sign-in itself
// runs in the background worker (account.ts): a popup closes when the sign-in window opens.

import { useEffect, useState } from "react";

import { AUTH_KEY, type StoredAuth, storedAuth } from "./account";

export function AccountBar({ origin }: { origin: string }) {
  const [enabled, setEnabled] = useState(false);
  const [auth, setAuth] = useState<StoredAuth | null>(null);
  const [message, setMessage] = useState("");
  useEffect(() => {
    if (!origin) return;
    void fetch(`${origin}/auth/config`)
      .then((response) => setEnabled(response.ok))
      .catch(() => setEnabled(false));
  }, [origin]);
  useEffect(() => {
    void storedAuth().then(setAuth);
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area === "session" && AUTH_KEY in changes) setAuth((changes[AUTH_KEY].newValue as StoredAuth | undefined) ?? null);
    };
    chrome.storage.onChanged.addListener(onChanged);
    return () => chrome.storage.onChanged.removeListener(onChanged);
  }, []);
  if (!enabled) return null;
  const signIn = async () => {
    setMessage("Signing in…");
    const answer = (await chrome.runtime.sendMessage({ type: "signIn" })) as { error?: string } | undefined;
    setMessage(answer?.error ? `Sign-in failed: ${answer.error}` : "");
  };
  const signOut = () => void chrome.runtime.sendMessage({ type: "signOut" });
  return (
    <div className="account">
      {auth ? (
        <>
          <span className="account-name">{auth.name ?? "Signed in"}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </>
      ) : (
        <button type="button" onClick={() => void signIn()}>
          Sign in
        </button>
      )}
      {message && <span role="status">{message}</span>}
    </div>
  );
}
