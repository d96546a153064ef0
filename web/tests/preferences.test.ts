import assert from "node:assert/strict";
import { test } from "node:test";

import { covers, EVERYTHING, filterQuery, rowWanted, sameInterest, streamQuery, unionInterest } from "../shared/interest";
import { DEFAULT_PREFERENCES, gameRows, interestOf, marketRows, readPreferences, toggleChoice, withinCatalog } from "../shared/preferences";
import { formatAgo, formatMoney, formatSigned, formatStart } from "../src/format";

test("one stream for several views follows the union of their rows; null (everything) wins", () => {
  const a = { symbols: ["AAPL"], leagues: ["NFL"] };
  const b = { symbols: ["MSFT", "AAPL"], leagues: [] };
  assert.deepEqual(unionInterest([a, b]), { symbols: ["AAPL", "MSFT"], leagues: ["NFL"] });
  assert.deepEqual(unionInterest([a, { symbols: null, leagues: [] }]), { symbols: null, leagues: ["NFL"] });
  assert.deepEqual(unionInterest([]), EVERYTHING);
  assert.ok(covers(unionInterest([a, b]), a) && !covers(a, b) && covers(EVERYTHING, b) && !covers(a, EVERYTHING));
  assert.ok(sameInterest({ symbols: ["B", "A"], leagues: null }, { symbols: ["A", "B"], leagues: null }));
  assert.ok(!sameInterest({ symbols: [], leagues: null }, EVERYTHING));
});

test("the filter's query and the client's own row rule", () => {
  assert.equal(filterQuery(EVERYTHING), "");
  assert.equal(filterQuery({ symbols: ["BRK.B", "^GSPC"], leagues: [] }), "symbols=BRK.B,%5EGSPC&leagues=");
  const nfl = { symbols: null, leagues: ["NFL"] };
  assert.ok(rowWanted(nfl, "games", { id: 1, league: "NFL" }) && !rowWanted(nfl, "games", { id: 2, league: "NBA" }));
  assert.ok(rowWanted(nfl, "trades", { id: 3, symbol: "ANY" }));
});

test("stored preferences are read defensively: each bad field gets its default", () => {
  assert.deepEqual(readPreferences(null), DEFAULT_PREFERENCES);
  assert.deepEqual(readPreferences("garbage"), DEFAULT_PREFERENCES);
  const read = readPreferences({ symbols: ["AAPL", 5, "", "AAPL"], leagues: "NFL", sort: "evil", view: "losers", showFinal: false, favouriteTeams: { NFL: "KC", NBA: 3 } });
  assert.deepEqual(read.symbols, ["AAPL"]);
  assert.equal(read.leagues, null);
  assert.equal(read.sort, "symbol");
  assert.equal(read.view, "losers");
  assert.equal(read.showFinal, false);
  assert.deepEqual(read.favouriteTeams, { NFL: "KC" });
  assert.deepEqual(readPreferences({ symbols: [] }).symbols, []);
});

test("add and remove: 'everything' becomes the catalog's list, then changes", () => {
  assert.deepEqual(toggleChoice(null, ["A", "B", "C"], ["B"], false), ["A", "C"]);
  assert.deepEqual(toggleChoice(["A"], ["A", "B", "C"], ["C", "B"], true), ["A", "B", "C"]);
  assert.deepEqual(toggleChoice(["A", "B"], ["A", "B"], ["A", "B"], false), []);
});

test("markets narrow to gainers or losers and sort by the chosen key", () => {
  const rows = [
    { id: 1, symbol: "B", price: "10", price_change: "1", percentage_change: "10", last_updated: "2026-11-28T10:00:00Z" },
    { id: 2, symbol: "A", price: "300", price_change: "-3", percentage_change: "-1", last_updated: "2026-11-28T11:00:00Z" },
    { id: 3, symbol: "C", price: "20", price_change: "0", percentage_change: "0", last_updated: "2026-11-28T09:00:00Z" },
  ];
  const symbols = (prefs: Partial<typeof DEFAULT_PREFERENCES>) => marketRows([...rows], { ...DEFAULT_PREFERENCES, ...prefs }).map((r) => r.symbol);
  assert.deepEqual(symbols({}), ["A", "B", "C"]);
  assert.deepEqual(symbols({ sort: "price", descending: true }), ["A", "C", "B"]);
  assert.deepEqual(symbols({ sort: "change" }), ["A", "C", "B"]);
  assert.deepEqual(symbols({ sort: "updated" }), ["C", "B", "A"]);
  assert.deepEqual(symbols({ view: "gainers" }), ["B"]);
  assert.deepEqual(symbols({ view: "losers" }), ["A"]);
});

test("games: the favourite team's first, then live, upcoming by start, final; hidden kinds left out", () => {
  const games = [
    { id: 1, league: "NBA", state: "post", home_team_code: "BOS", away_team_code: "MIA" },
    { id: 2, league: "NBA", state: "pre", start_time: "2026-11-28T20:00:00Z", home_team_code: "LAL", away_team_code: "GSW" },
    { id: 3, league: "NBA", state: "pre", start_time: "2026-11-28T19:00:00Z", home_team_code: "DEN", away_team_code: "PHX" },
    { id: 4, league: "NFL", state: "in", home_team_code: "KC", away_team_code: "BUF" },
  ];
  const ids = (prefs: Partial<typeof DEFAULT_PREFERENCES>) => gameRows([...games], { ...DEFAULT_PREFERENCES, ...prefs }).map((g) => g.id);
  assert.deepEqual(ids({}), [4, 3, 2, 1]);
  assert.deepEqual(ids({ favouriteTeams: { NBA: "MIA" } }), [1, 4, 3, 2]);
  assert.deepEqual(ids({ showUpcoming: false, showFinal: false }), [4]);
});

test("values read as money, signed changes, ages and start times", () => {
  assert.equal(formatMoney("97278.7"), "$97,278.70");
  assert.equal(formatMoney(null), "—");
  assert.equal(formatSigned("-1234.5"), "−1,234.50");
  assert.equal(formatSigned("0.4", "%"), "+0.40%");
  assert.equal(formatAgo(0, 40_000), "40 s ago");
  assert.equal(formatAgo(0, 2_000), "just now");
  assert.equal(formatAgo(0, 3 * 60_000), "3 min ago");
  const now = Date.parse("2026-11-28T15:00:00Z");
  assert.equal(formatStart("2026-11-28T19:30:00Z", now, "UTC"), "Today 7:30 PM");
  assert.equal(formatStart("2026-11-29T13:00:00Z", now, "UTC"), "Tomorrow 1:00 PM");
  assert.equal(formatStart("2026-12-02T01:05:00Z", now, "UTC"), "Wed, Dec 2 1:05 AM");
  assert.equal(formatStart("garbage", now, "UTC"), "Scheduled");
});

test("update speed: a rate per row the stream asks for, kept with the preferences", () => {
  assert.equal(readPreferences({}).updateSpeed, "realtime");
  assert.equal(readPreferences({ updateSpeed: "1s" }).updateSpeed, "1s");
  assert.equal(readPreferences({ updateSpeed: "warp" }).updateSpeed, "realtime");
  assert.deepEqual(interestOf(DEFAULT_PREFERENCES), { symbols: null, leagues: null });
  const calm = interestOf({ ...DEFAULT_PREFERENCES, symbols: ["AAPL"], updateSpeed: "5s" });
  assert.deepEqual(calm, { symbols: ["AAPL"], leagues: null, maxRate: 0.2 });
  assert.equal(streamQuery(calm), "symbols=AAPL&max_rate=0.2");
  assert.equal(streamQuery(calm, true), "symbols=AAPL&max_rate=0.2&compress=deflate");
  assert.equal(filterQuery(calm), "symbols=AAPL"); // /snapshot takes no rate
  assert.equal(streamQuery(interestOf(DEFAULT_PREFERENCES)), "");
});

test("one stream for several views goes as fast as the fastest; real time wins; a slower stream doesn't cover a faster view", () => {
  const second = { symbols: null, leagues: null, maxRate: 1 };
  const five = { symbols: null, leagues: null, maxRate: 0.2 };
  assert.equal(unionInterest([second, five]).maxRate, 1);
  assert.equal(unionInterest([second, EVERYTHING]).maxRate, undefined);
  assert.ok(covers(second, five) && !covers(five, second) && covers(EVERYTHING, second) && !covers(second, EVERYTHING));
  assert.ok(!sameInterest(second, five) && sameInterest(EVERYTHING, { symbols: null, leagues: null, maxRate: null }));
});

test("saved choices the catalog doesn't offer are dropped and named; the rest stay as they were", () => {
  const catalog = { symbols: [{ symbol: "AAPL" }, { symbol: "MSFT" }], leagues: [{ league: "NFL" }] };
  const saved = readPreferences({ symbols: ["AAPL", "BAD$SYM"], leagues: ["NFL", "XFL"], favouriteTeams: { NFL: "KC", XFL: "DC" }, sort: "price" });
  const { preferences, dropped } = withinCatalog(saved, catalog);
  assert.deepEqual(preferences.symbols, ["AAPL"]);
  assert.deepEqual(preferences.leagues, ["NFL"]);
  assert.deepEqual(preferences.favouriteTeams, { NFL: "KC" });
  assert.equal(preferences.sort, "price");
  assert.deepEqual(dropped, ["BAD$SYM", "XFL"]);
  // Everything (null) stays everything; valid choices come back as the same object (nothing to save).
  const everything = readPreferences({});
  assert.equal(withinCatalog(everything, catalog).preferences, everything);
  assert.deepEqual(withinCatalog(everything, catalog).dropped, []);
});
