// FinanceConfig: the user's symbols as a table (price in dollars, change, previous close, age),
// narrowed to All / Gainers / Losers and sorted as they choose, with their symbol settings.

import type { ReactNode } from "react";

import { ageOf, formatMoney, formatSigned, safeLink } from "../format";
import { useNow } from "../hooks/useNow";
import type { Catalog } from "../hooks/useCatalog";
import { type Flash, flashKey } from "../realtime-store";
import { type MarketView, marketRows, type Preferences, type SortKey } from "../../shared/preferences";
import type { Row } from "../../shared/protocol";
import { FinanceSettings } from "./Settings";

const VIEWS: Array<[MarketView, string]> = [
  ["all", "All"],
  ["gainers", "Gainers"],
  ["losers", "Losers"],
];
const SORTS: Array<[SortKey, string]> = [
  ["symbol", "Symbol"],
  ["price", "Price"],
  ["change", "Change"],
  ["updated", "Last update"],
];

export function FlashOn({ flash, children }: { flash: Flash | undefined; children: ReactNode }) {
  // A new key restarts the CSS animation each time the value changes.
  return (
    <span key={flash?.n ?? 0} className={flash ? `flash flash-${flash.direction}` : undefined}>
      {children}
    </span>
  );
}

export function direction(row: Row): "up" | "down" | "flat" {
  const change = Number(row.price_change);
  return change > 0 ? "up" : change < 0 ? "down" : "flat";
}

interface MarketsProps {
  trades: Row[];
  flashes: ReadonlyMap<string, Flash>;
  preferences: Preferences;
  onPreferences?: (preferences: Preferences) => void;
  catalog?: Catalog | null;
  compact?: boolean;
  empty?: ReactNode;
}

export function FinanceConfig({ trades, flashes, preferences, onPreferences, catalog, compact = false, empty }: MarketsProps) {
  const now = useNow(5000);
  const rows = marketRows([...trades], preferences);
  const names = new Map(catalog?.symbols.map((s) => [s.symbol, s.name]) ?? []);
  const links = new Map(catalog?.symbols.map((s) => [s.symbol, safeLink(s.link)]) ?? []);
  const set = (change: Partial<Preferences>) => onPreferences?.({ ...preferences, ...change });
  let message: ReactNode = null;
  if (preferences.symbols !== null && preferences.symbols.length === 0) message = "No symbols selected — choose some in Symbols settings.";
  else if (trades.length === 0) message = empty ?? "Waiting for prices…";
  else if (rows.length === 0) message = preferences.view === "gainers" ? "No gainers right now." : "No losers right now.";
  return (
    <section className="panel markets" aria-labelledby="finance-title" data-testid="markets">
      <div className="panel-head">
        <h2 id="finance-title">
          Markets <span className="count">{rows.length}</span>
        </h2>
        {onPreferences && (
          <div className="toolbar">
            <div className="segmented" role="group" aria-label="Show">
              {VIEWS.map(([view, label]) => (
                <button key={view} type="button" aria-pressed={preferences.view === view} onClick={() => set({ view })}>
                  {label}
                </button>
              ))}
            </div>
            <label className="sort">
              <span>Sort by</span>
              <select value={preferences.sort} onChange={(e) => set({ sort: e.target.value as SortKey })}>
                {SORTS.map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              className="order"
              aria-label={preferences.descending ? "Descending order" : "Ascending order"}
              onClick={() => set({ descending: !preferences.descending })}
            >
              {preferences.descending ? "↓" : "↑"}
            </button>
          </div>
        )}
      </div>
      {onPreferences && catalog !== undefined && <FinanceSettings catalog={catalog} preferences={preferences} onChange={onPreferences} />}
      {message !== null ? (
        <p className="empty" data-testid="markets-empty">
          {message}
        </p>
      ) : (
        <table className="trades">
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col" className="num">Price</th>
              <th scope="col" className="num">Change</th>
              {!compact && <th scope="col" className="num wide">Prev close</th>}
              {!compact && <th scope="col" className="num wide">Updated</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((trade) => {
              const dir = direction(trade);
              return (
                <tr key={String(trade.id)} data-symbol={String(trade.symbol)} className={`dir-${dir}`}>
                  <th scope="row" className="symbol">
                    {links.get(String(trade.symbol)) ? (
                      <a href={links.get(String(trade.symbol))!} target="_blank" rel="noreferrer" title="Quote page">
                        {String(trade.symbol)}
                      </a>
                    ) : (
                      String(trade.symbol)
                    )}
                    {!compact && names.has(String(trade.symbol)) && <span className="name">{names.get(String(trade.symbol))}</span>}
                  </th>
                  <td className="num" data-field="price">
                    <FlashOn flash={flashes.get(flashKey("trades", trade.id, "price"))}>{formatMoney(trade.price)}</FlashOn>
                  </td>
                  <td className="num change">
                    <span className="arrow" aria-hidden="true">
                      {dir === "up" ? "▲" : dir === "down" ? "▼" : "■"}
                    </span>
                    <span className="abs">{formatSigned(trade.price_change)} </span>
                    <span className="pct">({formatSigned(trade.percentage_change, "%")})</span>
                  </td>
                  {!compact && <td className="num wide">{formatMoney(trade.previous_close)}</td>}
                  {!compact && <td className="num wide age">{ageOf(trade.last_updated, now) ?? "—"}</td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
