import assert from "node:assert/strict";
import { test } from "node:test";

import { etagOf, fromServer, newer, onSignIn, parsePreferencesEvent, toServer, versionOfEtag } from "../shared/account-sync";
import { DEFAULT_PREFERENCES } from "../shared/preferences";

const local = { ...DEFAULT_PREFERENCES, symbols: ["AAPL"], leagues: ["NFL"], favouriteTeams: { NFL: "KC" }, view: "gainers" as const };

test("the browser's choices and the server's JSON convert both ways, keeping the feed bar", () => {
  const body = toServer(local, { ...toServer(DEFAULT_PREFERENCES), feedBar: { edge: "bottom" }, updateSpeed: "5s" });
  assert.deepEqual(body.display, { showUpcoming: true, showFinal: true, sort: "symbol", descending: false, view: "gainers" });
  assert.deepEqual(body.feedBar, { edge: "bottom" });
  assert.equal(body.updateSpeed, "live"); // the browser's real time, in the server's name
  assert.deepEqual(fromServer(body), local);
});

test("the update speed goes to the account and comes back, in the server's names", () => {
  const calm = { ...local, updateSpeed: "1s" as const };
  assert.equal(toServer(calm).updateSpeed, "1s");
  assert.deepEqual(fromServer(toServer(calm)), calm);
  assert.equal(fromServer({ ...toServer(local), updateSpeed: "live" }).updateSpeed, "realtime");
  assert.equal(fromServer({ ...toServer(local), updateSpeed: "warp" }).updateSpeed, "realtime"); // read defensively
});

test("signing in uploads the browser's choices to an empty account, else the account's win", () => {
  assert.deepEqual(onSignIn(local, null), { kind: "upload", body: toServer(local) });
  const account = { version: 3, preferences: { ...DEFAULT_PREFERENCES, symbols: ["MSFT"] } };
  assert.deepEqual(onSignIn(local, account), { kind: "adopt", account });
});

test("only a newer version is applied; ETags carry the version", () => {
  const at = (version: number) => ({ version, preferences: DEFAULT_PREFERENCES });
  assert.ok(newer(null, at(1)) && newer(1, at(2)));
  assert.ok(!newer(2, at(2)) && !newer(3, at(2)) && !newer(1, null));
  assert.equal(versionOfEtag(etagOf(12)), 12);
  assert.equal(versionOfEtag('W/"3"'), null);
  assert.equal(versionOfEtag(null), null);
});

test("a preferences event is read defensively", () => {
  const data = JSON.stringify({ version: 4, preferences: toServer(local) });
  assert.deepEqual(parsePreferencesEvent(data), { version: 4, preferences: local });
  assert.equal(parsePreferencesEvent(JSON.stringify({ version: null, preferences: null })), null);
  assert.equal(parsePreferencesEvent("{not json"), null);
});
