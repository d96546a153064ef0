// SportsConfig: the games of the user's leagues as cards — logos, away above home, the start time of
// a scheduled game (not "0–0"), the clock of a live one, the winner of a final; the score that
// changed flashes, not the card.

import { type ReactNode, useState } from "react";

import { formatStart, safeLink } from "../format";
import { useNow } from "../hooks/useNow";
import type { Catalog } from "../hooks/useCatalog";
import { type Flash, flashKey } from "../realtime-store";
import { gameRows, type Preferences } from "../../shared/preferences";
import type { Row } from "../../shared/protocol";
import { FlashOn } from "./Markets";
import { SportsSettings } from "./Settings";

export function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/** The team's code as a badge until its logo (a third-party CDN) has loaded, and for good if it
 * fails: never a broken-image icon. The image loads unseen behind the badge. */
export function Logo({ src, code }: { src: unknown; code: string }) {
  const [state, setState] = useState<"loading" | "loaded" | "failed">("loading");
  const url = safeLink(src);
  return (
    <span className="logo-slot" data-logo={url === null || state === "failed" ? "badge" : state}>
      {state !== "loaded" && (
        <span className="logo badge" aria-hidden="true">
          {code.slice(0, 4)}
        </span>
      )}
      {url !== null && state !== "failed" && (
        <img className="logo" src={url} alt="" width={28} height={28} loading="lazy" onLoad={() => setState("loaded")} onError={() => setState("failed")} />
      )}
    </span>
  );
}

interface TeamProps {
  game: Row;
  side: "home" | "away";
  flash: Flash | undefined;
  favourite: boolean;
}

function Team({ game, side, flash, favourite }: TeamProps) {
  const score = game[`${side}_team_score`];
  const other = game[`${side === "home" ? "away" : "home"}_team_score`];
  const scheduled = game.state === "pre";
  const won = game.state === "post" && Number(score) > Number(other);
  const code = text(game[`${side}_team_code`]);
  return (
    <div className={`team${won ? " winner" : ""}`} data-side={side}>
      <Logo key={text(game[`${side}_team_logo`])} src={game[`${side}_team_logo`]} code={code} />
      <span className="name">
        {text(game[`${side}_team_name`]) || code}
        {favourite && <span className="favourite" aria-label="favourite team"> ★</span>}
        <span className="side">{side === "home" ? "Home" : "Away"}</span>
      </span>
      {!scheduled && (
        <span className="score" data-field={`${side}_team_score`}>
          <FlashOn flash={flash}>{text(score) || "0"}</FlashOn>
          {won && <span className="visually-hidden"> (winner)</span>}
        </span>
      )}
    </div>
  );
}

export function statusText(game: Row, now: number): string {
  if (game.state === "pre") return formatStart(game.start_time, now);
  return text(game.short_detail) || text(game.status_long);
}

interface GamesProps {
  games: Row[];
  flashes: ReadonlyMap<string, Flash>;
  preferences: Preferences;
  onPreferences?: (preferences: Preferences) => void;
  catalog?: Catalog | null;
  empty?: ReactNode;
}

export function SportsConfig({ games, flashes, preferences, onPreferences, catalog, empty }: GamesProps) {
  const now = useNow(30_000);
  const rows = gameRows([...games], preferences);
  let message: ReactNode = null;
  if (preferences.leagues !== null && preferences.leagues.length === 0) message = "No leagues selected — choose some in Leagues settings.";
  else if (games.length === 0) message = empty ?? "No games right now for your leagues.";
  else if (rows.length === 0) message = "No games to show — upcoming or final games are hidden in Leagues settings.";
  return (
    <section className="panel sports" aria-labelledby="sports-title" data-testid="games">
      <div className="panel-head">
        <h2 id="sports-title">
          Games <span className="count">{rows.length}</span>
        </h2>
      </div>
      {onPreferences && catalog !== undefined && (
        <SportsSettings catalog={catalog} games={games} preferences={preferences} onChange={onPreferences} />
      )}
      {message !== null ? (
        <p className="empty" data-testid="games-empty">
          {message}
        </p>
      ) : (
        <div className="games">
          {rows.map((game) => {
            const team = preferences.favouriteTeams[text(game.league)];
            const link = safeLink(game.link);
            return (
              <article
                key={String(game.id)}
                className={`game state-${text(game.state)}`}
                data-game-id={String(game.id)}
                aria-label={`${text(game.away_team_name)} at ${text(game.home_team_name)}`}
              >
                <header>
                  <span className="league">{text(game.league)}</span>
                  {link === null ? (
                    <span className="detail">{statusText(game, now)}</span>
                  ) : (
                    <a className="detail" href={link} target="_blank" rel="noreferrer" title="Game page">
                      {statusText(game, now)}
                    </a>
                  )}
                </header>
                <Team game={game} side="away" flash={flashes.get(flashKey("games", game.id, "away_team_score"))} favourite={team === game.away_team_code} />
                <Team game={game} side="home" flash={flashes.get(flashKey("games", game.id, "home_team_score"))} favourite={team === game.home_team_code} />
              </article>
            );
          })}
        </div>
      )}
    </section>
  );
}
