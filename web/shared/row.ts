// A row as the relay sends it, in a module of its own: preferences.ts needs the type, and
// protocol.ts (which re-exports it) reaches preferences.ts through the account messages
// (account-sync.ts), so taking it from protocol.ts would close an import cycle.

/** A row as the relay sends it: column -> value, keyed by its table's primary key (rows.ts keyOf). */
export type Row = Record<string, unknown>;
