// The feed bar as the user sees it, in its Shadow Root: a labelled landmark with the Finance and
// Sports tabs, the stream's honest status and the data's age (the dashboard's StatusDot and
// Freshness), the items as on the dashboard (its formatting, flashes and ordering), the controls
// (ticker, density, overlay/push and edge behind an Options button; collapse) and a handle to drag its height. Everything from
// the feed is text or an attribute set by React: nothing is inserted as HTML.

import { type KeyboardEvent, type PointerEvent, type ReactNode, useState } from "react";

import { rowWanted } from "../../../web/shared/interest";
import { gameRows, interestOf, marketRows, type Preferences } from "../../../web/shared/preferences";
import type { Row } from "../../../web/shared/protocol";
import { Logo, statusText, text } from "../../../web/src/components/Games";
import { direction, FlashOn } from "../../../web/src/components/Markets";
import { Freshness, StatusDot } from "../../../web/src/components/Status";
import { formatMoney, formatSigned } from "../../../web/src/format";
import { useNow } from "../../../web/src/hooks/useNow";
import { flashKey } from "../../../web/src/realtime-store";
import { shownStatus } from "../state";
import type { BarModel } from "./model";
import { type BarSettings, type Category, clampHeight, HEIGHT_MAX, HEIGHT_MIN, shownCategory } from "./settings";

const RESIZE_STEP = 8;
const OPTIONS_ID = "scrollr-bar-options";
/** Seconds a ticker item takes to cross: the loop's length follows the number of items. */
const TICKER_SECONDS_PER_ITEM = 4;
const LABELS: Record<Category, string> = { finance: "Finance", sports: "Sports" };

export interface BarProps {
  model: BarModel;
  workerUp: boolean;
  settings: BarSettings;
  preferences: Preferences;
  /** Persist a change (chrome.storage.sync); every open bar applies it. */
  onSettings: (change: Partial<BarSettings>) => void;
  /** Show a height while dragging, before it is persisted on release. */
  onDragHeight: (height: number) => void;
}

function TradeItem({ trade, model }: { trade: Row; model: BarModel }) {
  const dir = direction(trade);
  return (
    <li className={`item bar-trade dir-${dir}`} data-symbol={String(trade.symbol)}>
      <span className="symbol">{String(trade.symbol)}</span>
      <span className="price" data-field="price">
        <FlashOn flash={model.flashes.get(flashKey("trades", trade.id, "price"))}>{formatMoney(trade.price)}</FlashOn>
      </span>
      <span className="change">
        <span className="arrow" aria-hidden="true">
          {dir === "up" ? "▲" : dir === "down" ? "▼" : "■"}
        </span>
        {formatSigned(trade.price_change)} ({formatSigned(trade.percentage_change, "%")})
      </span>
    </li>
  );
}

function GameSide({ game, side, model }: { game: Row; side: "home" | "away"; model: BarModel }) {
  const code = text(game[`${side}_team_code`]) || text(game[`${side}_team_name`]);
  return (
    <span className="side" data-side={side}>
      <Logo src={game[`${side}_team_logo`]} code={code} />
      <span className="code">{code}</span>
      {game.state !== "pre" && (
        <span className="score" data-field={`${side}_team_score`}>
          <FlashOn flash={model.flashes.get(flashKey("games", game.id, `${side}_team_score`))}>{text(game[`${side}_team_score`]) || "0"}</FlashOn>
        </span>
      )}
    </span>
  );
}

function GameItem({ game, model, now }: { game: Row; model: BarModel; now: number }) {
  return (
    <li className={`item bar-game state-${text(game.state)}`} data-game-id={String(game.id)}>
      <span className="league">{text(game.league)}</span>
      <GameSide game={game} side="away" model={model} />
      <span className="at" aria-hidden="true">
        @
      </span>
      <span className="visually-hidden"> at </span>
      <GameSide game={game} side="home" model={model} />
      <span className="detail">{statusText(game, now)}</span>
    </li>
  );
}

function Items({ category, props }: { category: Category; props: BarProps }) {
  const now = useNow(30_000);
  const { model, preferences, settings } = props;
  const interest = interestOf(preferences);
  const table = category === "finance" ? "trades" : "games";
  const wanted = [...model.rows[table].values()].filter((row) => rowWanted(interest, table, row));
  const rows = category === "finance" ? marketRows(wanted, preferences) : gameRows(wanted, preferences);
  const item = (row: Row) =>
    category === "finance" ? <TradeItem key={String(row.id)} trade={row} model={model} /> : <GameItem key={String(row.id)} game={row} model={model} now={now} />;
  let empty: string | null = null;
  const chosen = category === "finance" ? preferences.symbols : preferences.leagues;
  if (chosen !== null && chosen.length === 0) empty = category === "finance" ? "No symbols chosen — pick some in Scrollr's settings." : "No leagues chosen — pick some in Scrollr's settings.";
  else if (rows.length === 0) empty = !model.hasState || model.status === "connecting" ? "Connecting…" : category === "finance" ? "No prices yet." : "No games right now.";
  if (empty !== null) {
    return (
      <p className="empty" data-testid="bar-empty">
        {empty}
      </p>
    );
  }
  const ticker = settings.ticker;
  return (
    <div className={`viewport${ticker ? " ticking" : ""}`} role="group" aria-label={`${LABELS[category]} items`} tabIndex={0}>
      <div className="track" style={ticker ? { animationDuration: `${rows.length * TICKER_SECONDS_PER_ITEM}s` } : undefined}>
        <ul className="items" data-testid="bar-items">
          {rows.map(item)}
        </ul>
        {/* The ticker loops over a second copy, hidden from assistive technology. */}
        {ticker && (
          <ul className="items" aria-hidden="true">
            {rows.map(item)}
          </ul>
        )}
      </div>
    </div>
  );
}

function ResizeHandle({ props }: { props: BarProps }) {
  const { settings, onDragHeight, onSettings } = props;
  const [dragging, setDragging] = useState<number | null>(null);
  const heightAt = (clientY: number) => clampHeight(settings.edge === "top" ? clientY : window.innerHeight - clientY);
  const down = (event: PointerEvent<HTMLDivElement>) => {
    event.currentTarget.setPointerCapture(event.pointerId);
    setDragging(settings.height);
  };
  const move = (event: PointerEvent<HTMLDivElement>) => {
    if (dragging === null) return;
    const height = heightAt(event.clientY);
    setDragging(height);
    onDragHeight(height);
  };
  const up = (event: PointerEvent<HTMLDivElement>) => {
    if (dragging === null) return;
    setDragging(null);
    onSettings({ height: heightAt(event.clientY) });
  };
  // Arrow keys move the height at once and store it when the key is let go: a held key repeats
  // faster than chrome.storage.sync accepts writes (120 a minute).
  const grow = settings.edge === "top" ? "ArrowDown" : "ArrowUp";
  const shrink = settings.edge === "top" ? "ArrowUp" : "ArrowDown";
  const keyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== grow && event.key !== shrink) return;
    event.preventDefault();
    const height = clampHeight((dragging ?? settings.height) + (event.key === grow ? RESIZE_STEP : -RESIZE_STEP));
    setDragging(height);
    onDragHeight(height);
  };
  const keyUp = (event: KeyboardEvent<HTMLDivElement>) => {
    if ((event.key !== grow && event.key !== shrink) || dragging === null) return;
    setDragging(null);
    onSettings({ height: dragging });
  };
  return (
    <div
      className="resize"
      role="separator"
      aria-orientation="horizontal"
      aria-label="Feed bar height"
      aria-valuemin={HEIGHT_MIN}
      aria-valuemax={HEIGHT_MAX}
      aria-valuenow={dragging ?? settings.height}
      tabIndex={0}
      data-testid="bar-resize"
      onPointerDown={down}
      onPointerMove={move}
      onPointerUp={up}
      onPointerCancel={up}
      onKeyDown={keyDown}
      onKeyUp={keyUp}
    />
  );
}

function Toggle({ pressed, onClick, children }: { pressed: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button type="button" aria-pressed={pressed} onClick={onClick}>
      {children}
    </button>
  );
}

export function Bar(props: BarProps) {
  const { model, workerUp, settings, onSettings } = props;
  const category = shownCategory(settings);
  const status = shownStatus(model.status, workerUp);
  const hasData = model.rows.trades.size + model.rows.games.size > 0;
  const other = settings.edge === "top" ? "bottom" : "top";
  // The appearance toggles take the items' place while open: the bar stays one line on any page.
  const [options, setOptions] = useState(false);
  return (
    <section
      className={`bar edge-${settings.edge} density-${settings.density}${settings.collapsed ? " collapsed" : ""}`}
      aria-label="Scrollr live feed"
      data-testid="feed-bar"
    >
      <div className="head">
        <span className="brand">Scrollr</span>
        {!settings.collapsed && settings.categories.length > 1 && (
          <div className="feeds" role="group" aria-label="Feed">
            {settings.categories.map((c) => (
              <Toggle key={c} pressed={c === category} onClick={() => onSettings({ tab: c })}>
                {LABELS[c]}
              </Toggle>
            ))}
          </div>
        )}
        <StatusDot status={status} />
        <Freshness status={status} liveAt={model.liveAt} hasData={hasData} />
      </div>
      {!settings.collapsed && !options && category !== null && <Items category={category} props={props} />}
      {!settings.collapsed && options && (
        <div className="options" role="group" aria-label="Feed bar options" id={OPTIONS_ID}>
          <Toggle pressed={settings.ticker} onClick={() => onSettings({ ticker: !settings.ticker })}>
            Ticker
          </Toggle>
          <Toggle pressed={settings.density === "compact"} onClick={() => onSettings({ density: settings.density === "compact" ? "comfort" : "compact" })}>
            Compact
          </Toggle>
          <Toggle pressed={settings.layout === "push"} onClick={() => onSettings({ layout: settings.layout === "push" ? "overlay" : "push" })}>
            Push
          </Toggle>
          <button type="button" onClick={() => onSettings({ edge: other })}>
            Move to {other}
          </button>
        </div>
      )}
      <div className="controls">
        {!settings.collapsed && (
          <button type="button" className="options-toggle" aria-expanded={options} aria-controls={options ? OPTIONS_ID : undefined} onClick={() => setOptions(!options)}>
            Options
          </button>
        )}
        <button type="button" className="collapse" aria-expanded={!settings.collapsed} onClick={() => onSettings({ collapsed: !settings.collapsed })}>
          {settings.collapsed ? "Expand" : "Collapse"}
        </button>
      </div>
      {!settings.collapsed && <ResizeHandle props={props} />}
    </section>
  );
}
