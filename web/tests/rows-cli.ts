// The client's rule for rows (web/shared/rows.ts) behind stdin/stdout, one JSON request per line
// and one JSON answer per line, so the Python convergence tests (tests/support/state.py) apply the
// real rule — tombstone cap included — instead of a copy of it. Built on demand by the tests.

import { createInterface } from "node:readline";

import { applyChange, emptyRows, parseChange, rowsFromSnapshot, rowsToLists, type RowsState, type Snapshot } from "../shared/rows";

type Request = { op: "snapshot"; snapshot: Snapshot } | { op: "apply"; data: string; id: string } | { op: "rows" };

let rows: RowsState = emptyRows();

function handle(request: Request): unknown {
  switch (request.op) {
    case "snapshot":
      rows = rowsFromSnapshot(request.snapshot);
      return { ok: true };
    case "apply":
      return { changed: applyChange(rows, parseChange(request.data), request.id) !== null };
    case "rows":
      return { tables: rowsToLists(rows) };
  }
}

createInterface({ input: process.stdin }).on("line", (line) => {
  let answer: unknown;
  try {
    answer = handle(JSON.parse(line) as Request);
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
