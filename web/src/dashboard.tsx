// The live dashboard: FinanceConfig (trades) and SportsConfig (games), updated in place from
// useRealtime, with the stream's status as a dot. Changed values flash briefly.

import { useRealtime } from "./hooks/useRealtime";
import type { Row, Status } from "../shared/protocol";

const STATUS_LABEL: Record<Status, string> = {
  connected: "Live",
  reconnecting: "Reconnecting…",
  disconnected: "Offline — showing last data",
  error: "Unavailable — showing last data",
};

export function StatusDot({ status }: { status: Status }) {
  return (
    <span className={`status status-${status}`} data-testid="status" data-status={status} role="status">
      <span className="dot" aria-hidden="true" />
      {STATUS_LABEL[status]}
    </span>
  );
}

function text(value: unknown): string {
  return value === null || value === undefined ? "—" : String(value);
}

function signed(value: unknown, suffix = ""): string {
  const n = Number(value);
  if (value === null || value === undefined || Number.isNaN(n)) return "—";
  return `${n > 0 ? "+" : ""}${n.toFixed(2)}${suffix}`;
}

function Flash({ version, children }: { version: number; children: React.ReactNode }) {
  // A new key restarts the CSS animation each time the row changes.
  return (
    <span key={version} className={version > 0 ? "flash" : undefined}>
      {children}
    </span>
  );
}

export function FinanceConfig({ trades, versions }: { trades: Row[]; versions: ReadonlyMap<string, number> }) {
  const sorted = [...trades].sort((a, b) => String(a.symbol).localeCompare(String(b.symbol)));
  return (
    <section className="panel" aria-labelledby="finance-title">
      <h2 id="finance-title">Markets <span className="count">{sorted.length}</span></h2>
      <table className="trades">
        <thead>
          <tr><th>Symbol</th><th className="num">Price</th><th className="num">Change</th><th className="num">%</th></tr>
        </thead>
        <tbody>
          {sorted.map((trade) => {
            const version = versions.get(`trades:${trade.id}`) ?? 0;
            const direction = text(trade.direction);
            return (
              <tr key={String(trade.id)} data-symbol={text(trade.symbol)} className={`dir-${direction}`}>
                <td className="symbol">{text(trade.symbol)}</td>
                <td className="num" data-field="price"><Flash version={version}>{text(trade.price)}</Flash></td>
                <td className="num change">
                  <span className="arrow" aria-hidden="true">{direction === "up" ? "▲" : direction === "down" ? "▼" : "■"}</span>
                  {signed(trade.price_change)}
                </td>
                <td className="num change">{signed(trade.percentage_change, "%")}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

const STATE_ORDER: Record<string, number> = { in: 0, pre: 1, post: 2 };

function Team({ code, name, score, leading }: { code: unknown; name: unknown; score: unknown; leading: boolean }) {
  return (
    <div className={`team${leading ? " leading" : ""}`}>
      <span className="code" title={text(name)}>{text(code)}</span>
      <span className="name">{text(name)}</span>
      <span className="score">{text(score)}</span>
    </div>
  );
}

export function SportsConfig({ games, versions }: { games: Row[]; versions: ReadonlyMap<string, number> }) {
  const sorted = [...games].sort(
    (a, b) => (STATE_ORDER[String(a.state)] ?? 3) - (STATE_ORDER[String(b.state)] ?? 3) || Number(a.id) - Number(b.id),
  );
  return (
    <section className="panel" aria-labelledby="sports-title">
      <h2 id="sports-title">Games <span className="count">{sorted.length}</span></h2>
      <div className="games">
        {sorted.map((game) => {
          const home = Number(game.home_team_score ?? 0);
          const away = Number(game.away_team_score ?? 0);
          const version = versions.get(`games:${game.id}`) ?? 0;
          return (
            <article key={String(game.id)} className={`game state-${text(game.state)}`} data-game-id={String(game.id)}>
              <header>
                <span className="league">{text(game.league)}</span>
                <span className="detail"><Flash version={version}>{text(game.short_detail)}</Flash></span>
              </header>
              <Flash version={version}>
                <Team code={game.away_team_code} name={game.away_team_name} score={game.away_team_score} leading={away > home} />
                <Team code={game.home_team_code} name={game.home_team_name} score={game.home_team_score} leading={home > away} />
              </Flash>
            </article>
          );
        })}
      </div>
    </section>
  );
}

export function Dashboard() {
  const { latestTrades, latestGames, status, versions } = useRealtime();
  return (
    <div className="app">
      <header className="top">
        <h1>Scrollr</h1>
        <StatusDot status={status} />
      </header>
      <main className="grid">
        <FinanceConfig trades={latestTrades} versions={versions} />
        <SportsConfig games={latestGames} versions={versions} />
      </main>
    </div>
  );
}
