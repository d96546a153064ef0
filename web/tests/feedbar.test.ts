// The feed bar's pure parts: site patterns and the allow/deny rule, its settings read defensively,
// the bar's model of the stream, the background's updates from storage changes, and render timing.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FrameScheduler } from "../../extension/src/bar/frames";
import { updateOf } from "../../extension/src/bar/hub";
import { applyBarMessage, emptyModel } from "../../extension/src/bar/model";
import { clampHeight, DEFAULT_BAR_SETTINGS, HEIGHT_MAX, HEIGHT_MIN, readBarSettings, shownCategory } from "../../extension/src/bar/settings";
import { barAllowedOn, hostMatches, MAX_PATTERNS, parseSiteList, parseSitePattern, withSite } from "../../extension/src/bar/sites";
import { rowKey } from "../../extension/src/storage";
import { shownStatus, STATE_KEY } from "../../extension/src/state";

test("site patterns are normalised hosts; anything else says why", () => {
  assert.deepEqual(parseSitePattern("  Example.COM "), { pattern: "example.com" });
  assert.deepEqual(parseSitePattern("*.news.example.com"), { pattern: "news.example.com" });
  assert.deepEqual(parseSitePattern("https://www.example.com/some/page?x=1"), { pattern: "www.example.com" });
  assert.deepEqual(parseSitePattern("127.0.0.1:8080"), { pattern: "127.0.0.1" });
  assert.deepEqual(parseSitePattern("bücher.de"), { pattern: "xn--bcher-kva.de" });
  for (const bad of ["", "a b", "exa*mple.com", "example.com/path", "under_score.com", "x".repeat(300)]) {
    assert.ok("error" in parseSitePattern(bad), bad);
  }
});

test("a typed list keeps every valid site once and names every wrong entry", () => {
  const result = parseSiteList("example.com\nexample.com, news.site.org  bad/entry");
  assert.deepEqual(result.patterns, ["example.com", "news.site.org"]);
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0], /bad\/entry/);
  const tooMany = parseSiteList(Array.from({ length: MAX_PATTERNS + 1 }, (_, n) => `s${n}.com`).join("\n"));
  assert.deepEqual(tooMany.errors, [`At most ${MAX_PATTERNS} sites per list.`]);
});

test("a pattern covers its host and subdomains, not look-alikes", () => {
  assert.ok(hostMatches("example.com", "example.com"));
  assert.ok(hostMatches("example.com", "a.b.example.com"));
  assert.ok(!hostMatches("example.com", "badexample.com"));
  assert.ok(!hostMatches("example.com", "example.com.evil.net"));
});

test("the bar shows where allowed; a deny wins; off is off everywhere", () => {
  const rules = { enabled: true, allow: [] as string[], deny: [] as string[] };
  assert.ok(barAllowedOn(rules, "any.site"));
  assert.ok(!barAllowedOn({ ...rules, enabled: false }, "any.site"));
  assert.ok(!barAllowedOn({ ...rules, allow: ["news.org"] }, "any.site"));
  assert.ok(barAllowedOn({ ...rules, allow: ["news.org"] }, "www.news.org"));
  assert.ok(!barAllowedOn({ ...rules, allow: ["news.org"], deny: ["www.news.org"] }, "www.news.org"));
  assert.ok(!barAllowedOn(rules, ""));
});

test("the this-site switch adds a deny, and switching back removes every deny covering the site", () => {
  const rules = { enabled: true, allow: [] as string[], deny: ["other.org"] };
  const off = withSite(rules, "www.news.org", false);
  assert.deepEqual(off.deny, ["other.org", "www.news.org"]);
  assert.ok(!barAllowedOn(off, "www.news.org"));
  const wildcardDenied = { ...rules, deny: ["news.org"] };
  const on = withSite(wildcardDenied, "www.news.org", true);
  assert.deepEqual(on.deny, []);
  assert.ok(barAllowedOn(on, "www.news.org"));
  const allowListed = withSite({ ...rules, allow: ["a.com"] }, "b.com", true);
  assert.deepEqual(allowListed.allow, ["a.com", "b.com"]);
  assert.ok(barAllowedOn(allowListed, "b.com"));
});

test("stored settings are read defensively, each wrong field getting its default", () => {
  assert.deepEqual(readBarSettings(undefined), DEFAULT_BAR_SETTINGS);
  const read = readBarSettings({ edge: "left", height: 10_000, categories: ["sports", "weather"], deny: ["ok.com", "not ok", 7], ticker: "yes" });
  assert.equal(read.edge, "top");
  assert.equal(read.height, HEIGHT_MAX);
  assert.deepEqual(read.categories, ["sports"]);
  assert.deepEqual(read.deny, ["ok.com"]);
  assert.equal(read.ticker, false);
  assert.equal(clampHeight(-5), HEIGHT_MIN);
  assert.equal(shownCategory({ ...read, tab: "finance" }), "sports");
  assert.equal(shownCategory({ ...read, categories: [] }), null);
});

const trade = (id: number, price: string) => ({ id, symbol: `S${id}`, price });

test("the bar's model takes the state, then updates, flashing what moved and forgetting what left", () => {
  const model = emptyModel();
  assert.equal(shownStatus(model.status, true), "connecting");
  applyBarMessage(model, { type: "state", rows: { trades: [trade(1, "10"), trade(2, "20")], games: [] }, status: "connected", liveAt: 5 });
  assert.equal(model.flashes.size, 0);
  applyBarMessage(model, { type: "update", upserts: [{ table: "trades", row: trade(1, "9") }], removals: [{ table: "trades", key: "2" }], status: "connected", liveAt: 6 });
  assert.deepEqual([...model.rows.trades.keys()], ["1"]);
  assert.deepEqual(model.flashes.get("trades:1:price"), { n: 1, direction: "down" });
  // A restarted worker's state: rows it no longer has go, moved rows flash.
  applyBarMessage(model, { type: "state", rows: { trades: [trade(1, "11")], games: [] }, status: "reconnecting", liveAt: 6 });
  assert.deepEqual(model.flashes.get("trades:1:price"), { n: 2, direction: "up" });
  assert.equal(model.status, "reconnecting");
});

test("stored live isn't shown as live while the worker is gone", () => {
  const model = emptyModel();
  applyBarMessage(model, { type: "state", rows: { trades: [], games: [] }, status: "connected", liveAt: 1 });
  assert.equal(shownStatus(model.status, true), "connected");
  assert.equal(shownStatus(model.status, false), "reconnecting");
  assert.equal(shownStatus("error", false), "error");
});

test("the background turns storage changes into a bar's update, and ignores unrelated keys", () => {
  const meta = { status: "connected" as const, liveAt: 7 };
  const set = { table: "trades", row: trade(1, "10"), version: [1, 0] };
  const removed = { table: "trades", row: trade(2, "20"), version: [1, 0] };
  const update = updateOf(
    { [rowKey("trades", "1")]: { newValue: set }, [rowKey("trades", "2")]: { oldValue: removed }, [STATE_KEY]: { newValue: {} } },
    meta,
  );
  assert.deepEqual(update, { type: "update", upserts: [{ table: "trades", row: set.row }], removals: [{ table: "trades", key: "2" }], ...meta });
  assert.equal(updateOf({ apiBase: { newValue: "http://x" } }, meta), null);
});

/** A fake document (named so): which frames were asked for, and whether the page is hidden. */
function fakeHost() {
  const frames = new Map<number, () => void>();
  let next = 0;
  const host = {
    isHidden: false,
    hidden: () => host.isHidden,
    requestFrame: (callback: () => void) => (frames.set(++next, callback), next),
    cancelFrame: (id: number) => void frames.delete(id),
    runFrames: () => {
      const due = [...frames.values()];
      frames.clear();
      for (const callback of due) callback();
    },
    pending: () => frames.size,
  };
  return host;
}

test("a bar renders once per animation frame, and not at all while its page is hidden", () => {
  const host = fakeHost();
  let renders = 0;
  const frames = new FrameScheduler(host, () => renders++);
  frames.schedule();
  frames.schedule();
  assert.equal(host.pending(), 1);
  host.runFrames();
  assert.equal(renders, 1);
  host.isHidden = true;
  frames.schedule();
  frames.schedule();
  assert.equal(host.pending(), 0);
  host.runFrames();
  assert.equal(renders, 1);
  host.isHidden = false;
  frames.visibilityChanged();
  host.runFrames();
  assert.equal(renders, 2);
  frames.visibilityChanged(); // shown again with nothing new: no render
  host.runFrames();
  assert.equal(renders, 2);
});
