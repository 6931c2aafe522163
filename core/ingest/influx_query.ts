/**
 * The database-management part of InfluxDB 1.x's `/query` endpoint, for
 * clients that write line protocol: the influx CLI (`SHOW DATABASES` before
 * `USE`), Telegraf (`CREATE DATABASE` on start), client libraries.
 *
 * Perch keeps one store; a database is only a name clients may create, list
 * and drop (the names written to with `/write?db=` are listed too). Data is
 * queried with PromQL, so `SELECT` and every other statement get an
 * InfluxQL-style statement error that says so.
 *
 * @module
 */

/** One statement's result, in InfluxDB 1.x's JSON shape. */
export interface InfluxStatementResult {
  readonly statement_id: number;
  readonly series?: readonly {
    readonly name: string;
    readonly columns: readonly string[];
    readonly values?: readonly (readonly string[])[];
  }[];
  readonly error?: string;
}

/** The names of the databases clients created (durable where the store is). */
export interface InfluxDatabaseStore {
  list(): Promise<string[]>;
  add(name: string): Promise<void>;
  remove(name: string): Promise<void>;
}

/** Thrown for text that is no statement at all (InfluxDB answers 400 then). */
export class InfluxQueryError extends Error {}

const IDENT = String.raw`([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")`;
const SHOW_DATABASES = /^SHOW\s+DATABASES$/i;
const CREATE_DATABASE = new RegExp(String.raw`^CREATE\s+DATABASE\s+${IDENT}(\s+WITH\s+.*)?$`, "is");
const DROP_DATABASE = new RegExp(String.raw`^DROP\s+DATABASE\s+${IDENT}$`, "is");
const SELECT = /^(SELECT|WITH)\b/i;
const USE = /^USE\b/i;

/** Why Perch does not run the statement, naming what to use instead. */
export const SELECT_MESSAGE = "Perch does not run InfluxQL SELECT: query the data with PromQL at " +
  "/api/v1/query (a field is stored as <measurement>_<field>, tags as labels)";

/**
 * Answers the statements of one `/query` request, in order. Empty text is an
 * {@linkcode InfluxQueryError}; an unsupported statement is an error result.
 */
export async function answerInfluxQuery(
  text: string,
  store: InfluxDatabaseStore,
): Promise<InfluxStatementResult[]> {
  const statements = splitStatements(text);
  if (statements.length === 0) throw new InfluxQueryError(`missing required parameter "q"`);
  const out: InfluxStatementResult[] = [];
  for (const [i, st] of statements.entries()) {
    let m: RegExpExecArray | null;
    if (SHOW_DATABASES.test(st)) {
      const names = (await store.list()).sort();
      out.push({
        statement_id: i,
        series: [{
          name: "databases",
          columns: ["name"],
          ...(names.length > 0 ? { values: names.map((n) => [n]) } : {}),
        }],
      });
    } else if ((m = CREATE_DATABASE.exec(st)) !== null) {
      await store.add(unquote(m[1]!));
      out.push({ statement_id: i });
    } else if ((m = DROP_DATABASE.exec(st)) !== null) {
      await store.remove(unquote(m[1]!));
      out.push({ statement_id: i });
    } else if (SELECT.test(st)) {
      out.push({ statement_id: i, error: SELECT_MESSAGE });
    } else if (USE.test(st)) {
      out.push({
        statement_id: i,
        error: "USE is a command of the influx CLI, not a statement: pass db=<name> instead",
      });
    } else {
      out.push({
        statement_id: i,
        error: "Perch answers only SHOW DATABASES, CREATE DATABASE and DROP DATABASE here; " +
          "query data with PromQL at /api/v1/query",
      });
    }
  }
  return out;
}

/** Splits on `;` outside quotes and drops empty statements. */
function splitStatements(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== "") {
      cur += ch;
      if (ch === "\\" && i + 1 < text.length) cur += text[++i];
      else if (ch === quote) quote = "";
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === ";") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/\\(.)/g, "$1") : ident;
}

/** Key prefix of database names in the state KV. */
const KV_PREFIX = ["influx", "database"] as const;

/**
 * Database names kept in Deno KV (`state.kv`, key `["influx", "database",
 * name]`), cached in memory after the first read.
 */
export class KvInfluxDatabases implements InfluxDatabaseStore {
  #cache: Set<string> | undefined;
  constructor(readonly kv: Deno.Kv) {}

  async list(): Promise<string[]> {
    return [...await this.#names()];
  }

  async add(name: string): Promise<void> {
    const names = await this.#names();
    if (names.has(name)) return;
    await this.kv.set([...KV_PREFIX, name], true);
    names.add(name);
  }

  async remove(name: string): Promise<void> {
    const names = await this.#names();
    await this.kv.delete([...KV_PREFIX, name]);
    names.delete(name);
  }

  async #names(): Promise<Set<string>> {
    if (this.#cache) return this.#cache;
    const names = new Set<string>();
    for await (const e of this.kv.list({ prefix: [...KV_PREFIX] })) {
      names.add(String(e.key[KV_PREFIX.length]));
    }
    this.#cache = names;
    return names;
  }
}

/** An in-memory store, for tests and for Perch without a state KV. */
export class MemInfluxDatabases implements InfluxDatabaseStore {
  readonly #names = new Set<string>();
  list(): Promise<string[]> {
    return Promise.resolve([...this.#names]);
  }
  add(name: string): Promise<void> {
    this.#names.add(name);
    return Promise.resolve();
  }
  remove(name: string): Promise<void> {
    this.#names.delete(name);
    return Promise.resolve();
  }
}
