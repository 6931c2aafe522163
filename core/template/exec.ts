/**
 * The template evaluator: walks a parsed tree over Go values, calling the
 * dialect's functions and the data's methods as Go's `text/template` does,
 * within a step and output budget.
 *
 * @module
 */
import { FnError, TemplateRenderError } from "./errors.ts";
import type { Arg, Cmd, Control, Node, Pipe, Template } from "./parse.ts";
import {
  fitsParam,
  formatGoValue,
  GoMap,
  type GoMethod,
  GoSlice,
  GoString,
  GoStruct,
  goTypeName,
  type GoValue,
  HTML_TYPE,
  methodOf,
  PARAM_TYPE_NAMES,
  type ParamType,
  truth,
} from "./value.ts";

/** A function templates can call; `env` is what the render was given (`ExecOptions.env`). */
export interface GoFunc {
  readonly params: readonly ParamType[];
  readonly variadic?: ParamType;
  call(args: GoValue[], env: unknown): GoValue;
}

/** A dialect's functions by name. */
export type FuncMap = Readonly<Record<string, GoFunc>>;

/** How to render a template. */
export interface ExecOptions {
  /** The dialect's functions (the ones the template was parsed with). */
  readonly funcs: FuncMap;
  /** The data: dot and `$` at the start. */
  readonly data: GoValue;
  /** Values of the dialect's predeclared variables (`$labels`, ...), besides `$`. */
  readonly vars?: Readonly<Record<string, GoValue>>;
  /** Passed to every function call (the evaluation time, the query results, ...). */
  readonly env?: unknown;
  /** Escape every printed value for HTML unless it is `template.HTML` (`safeHtml`). */
  readonly html?: boolean;
  /** Templates `{{ template "name" }}` may call besides the ones the template defines. */
  readonly lookup?: (name: string) => Template | undefined;
}

/** A render may take at most this many steps and produce this much text. */
const MAX_STEPS = 1_000_000;
const MAX_OUTPUT = 1 << 20;
/** How deep `{{ template }}` calls may nest. */
const MAX_DEPTH = 100;

const MISSING = Symbol("missing");
type Final = GoValue | typeof MISSING;
const BREAK = Symbol("break");
const CONTINUE = Symbol("continue");

/** Go's `template.HTMLEscapeString`. */
export function htmlEscape(s: string): string {
  return s.replace(
    /[<>&'"\0]/g,
    (c) =>
      ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd" })[c]!,
  );
}

/** How `{{ v }}` prints a value (text/template's printValue). */
function printValue(v: GoValue): string {
  if (v === undefined) return "<no value>";
  if (v instanceof GoStruct && v.type.startsWith("*")) {
    return formatGoValue(new GoStruct(v.type.slice(1), v.fields, v.methods));
  }
  return formatGoValue(v);
}

class Exec {
  vars: { name: string; v: GoValue }[] = [];
  out = "";
  steps = 0;
  depth = 0;
  /** The command being evaluated, for error messages. */
  cmd: Cmd | undefined;

  constructor(readonly o: ExecOptions, public t: Template, readonly root: Template) {}

  fail(msg: string, at = this.cmd?.at ?? 0): never {
    const src = this.t.source;
    let line = 1, col = 1;
    for (let i = 0; i < at && i < src.length; i++) {
      if (src[i] === "\n") {
        line++;
        col = 1;
      } else col++;
    }
    const where = this.cmd ? ` at <${this.cmd.src}>` : "";
    throw new TemplateRenderError(`${line}:${col}: executing${where}: ${msg}`);
  }

  tick() {
    if (++this.steps > MAX_STEPS) this.fail(`template exceeded ${MAX_STEPS} steps`);
  }

  emit(s: string) {
    this.out += s;
    if (this.out.length > MAX_OUTPUT) this.fail(`template output exceeded ${MAX_OUTPUT} bytes`);
  }

  lookupVar(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.v;
    }
    return this.fail(`undefined variable: ${name}`);
  }

  setVar(name: string, v: GoValue) {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.v = v;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  walk(dot: GoValue, nodes: readonly Node[]) {
    for (const n of nodes) {
      this.tick();
      switch (n.k) {
        case "text":
          this.emit(n.s);
          break;
        case "action": {
          const v = this.pipeline(dot, n.pipe);
          if (n.pipe.decl.length === 0) {
            const s = printValue(v);
            const safe = v instanceof GoString && v.type === HTML_TYPE;
            this.emit(this.o.html && !safe ? htmlEscape(s) : s);
          }
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const v = this.pipeline(dot, n.pipe);
          if (truth(v)) this.walk(n.k === "with" ? v : dot, n.body);
          else this.walk(dot, n.otherwise);
          this.vars.length = mark;
          break;
        }
        case "range":
          this.range(dot, n);
          break;
        case "break":
          throw BREAK;
        case "continue":
          throw CONTINUE;
        case "template":
          this.template(dot, n);
          break;
      }
    }
  }

  template(dot: GoValue, n: Extract<Node, { k: "template" }>) {
    const t = this.root.defs.get(n.name) ?? this.o.lookup?.(n.name);
    if (!t) this.fail(`no such template ${JSON.stringify(n.name)}`, n.at);
    if (this.depth >= MAX_DEPTH) this.fail(`exceeded maximum template depth (${MAX_DEPTH})`, n.at);
    const arg = n.pipe ? this.pipeline(dot, n.pipe) : undefined;
    const saved = { vars: this.vars, t: this.t, cmd: this.cmd };
    this.vars = [{ name: "$", v: arg }];
    this.t = t;
    this.cmd = undefined;
    this.depth++;
    try {
      this.walk(arg, t.nodes);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.t = saved.t;
      this.cmd = saved.cmd;
    }
  }

  range(dot: GoValue, n: Control) {
    const mark = this.vars.length;
    const v = this.commands(dot, n.pipe);
    const { decl, isAssign } = n.pipe;
    if (!isAssign) { for (const d of decl) this.vars.push({ name: d, v: undefined }); }
    const inner = this.vars.length;
    let count = 0;
    const one = (index: GoValue, elem: GoValue): boolean => {
      count++;
      if (decl.length === 1) this.setVar(decl[0]!, elem);
      if (decl.length === 2) {
        this.setVar(decl[0]!, index);
        this.setVar(decl[1]!, elem);
      }
      try {
        this.walk(elem, n.body);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = inner;
      }
      return true;
    };
    if (v instanceof GoSlice) {
      for (let i = 0; i < v.items.length; i++) if (!one(BigInt(i), v.items[i])) break;
    } else if (v instanceof GoMap) {
      for (const k of [...v.entries.keys()].sort()) if (!one(k, v.entries.get(k))) break;
    } else if (typeof v === "bigint") {
      if (decl.length > 1) {
        this.fail(`can't use ${v} to iterate over more than one variable`, n.at);
      }
      for (let i = 0n; i < v; i++) {
        this.tick();
        if (!one(i, i)) break;
      }
    } else if (v !== null && v !== undefined) {
      this.fail(`range can't iterate over ${formatGoValue(v)}`, n.at);
    }
    if (count === 0) this.walk(dot, n.otherwise);
    this.vars.length = mark;
  }

  /** The pipeline's value, without its declarations. */
  commands(dot: GoValue, pipe: Pipe): GoValue {
    let v: Final = MISSING;
    for (const c of pipe.cmds) v = this.command(dot, c, v);
    return v === MISSING ? undefined : v;
  }

  pipeline(dot: GoValue, pipe: Pipe): GoValue {
    const v = this.commands(dot, pipe);
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d, v);
      else this.vars.push({ name: d, v });
    }
    return v;
  }

  command(dot: GoValue, cmd: Cmd, final: Final): GoValue {
    const saved = this.cmd;
    this.cmd = cmd;
    try {
      const first = cmd.args[0]!;
      if (first.k === "fn") {
        const fn = this.o.funcs[first.name]!;
        const v = this.call(dot, first.name, fn, undefined, cmd.args.slice(1), final);
        return this.fields(v, first.path);
      }
      if (first.k === "nil") this.fail("nil is not a command");
      const hasArgs = cmd.args.length > 1 || final !== MISSING;
      if (hasArgs && (first.k === "field" || first.k === "var" || first.k === "pipe")) {
        // A method at the end of a field chain takes the command's arguments.
        const path = first.path;
        const last = path[path.length - 1];
        if (last !== undefined) {
          const recv = this.fields(this.receiver(dot, first), path.slice(0, -1));
          const m = methodOf(recv, last);
          if (m) return this.call(dot, last, m, recv, cmd.args.slice(1), final);
        }
      }
      if (hasArgs) this.fail(`can't give argument to non-function ${first.src}`);
      return this.value(dot, first);
    } finally {
      this.cmd = saved;
    }
  }

  /** What an operand's field chain starts from. */
  receiver(dot: GoValue, a: Extract<Arg, { k: "field" | "var" | "pipe" }>): GoValue {
    if (a.k === "field") return dot;
    if (a.k === "var") return this.lookupVar(a.name);
    return this.pipeline(dot, a.pipe);
  }

  /** An operand as a value (numbers as Go's ideal constants: int, or float64 when written so). */
  value(dot: GoValue, a: Arg): GoValue {
    switch (a.k) {
      case "lit":
        return a.v;
      case "num":
        if (a.isFloat) return a.float;
        return a.int!;
      case "nil":
        return null;
      case "dot":
        return dot;
      case "field":
      case "var":
      case "pipe":
        return this.fields(this.receiver(dot, a), a.path);
      case "fn":
        return this.fields(
          this.call(dot, a.name, this.o.funcs[a.name]!, undefined, [], MISSING),
          a.path,
        );
    }
  }

  fields(v: GoValue, path: readonly string[]): GoValue {
    for (const name of path) {
      const m = methodOf(v, name);
      if (m) v = this.call(undefined, name, m, v, [], MISSING);
      else if (v instanceof GoStruct) {
        if (!(name in v.fields)) this.fail(`can't evaluate field ${name} in type ${v.type}`);
        v = v.fields[name];
      } else if (v instanceof GoMap) {
        v = v.entries.has(name) ? v.entries.get(name) : v.zero;
      } else if (v === null) this.fail(`nil pointer evaluating interface {}.${name}`);
      else if (v === undefined) this.fail(`nil data; no entry for key ${JSON.stringify(name)}`);
      else this.fail(`can't evaluate field ${name} in type ${goTypeName(v)}`);
    }
    return v;
  }

  /** An argument converted to a parameter type, as Go's `evalArg` does. */
  arg(dot: GoValue, a: Arg, t: ParamType): GoValue {
    if (
      t === "string" &&
      (a.k === "num" || a.k === "nil" || (a.k === "lit" && typeof a.v !== "string"))
    ) {
      this.fail(`expected string; found ${a.src}`);
    }
    if (a.k === "nil" && t === "samples") return new GoSlice(PARAM_TYPE_NAMES.samples, []);
    if (a.k === "nil" && (t === "[]string" || t === "[]any")) {
      return new GoSlice(PARAM_TYPE_NAMES[t], []);
    }
    return this.check(this.value(dot, a), t);
  }

  check(v: GoValue, t: ParamType): GoValue {
    if (!fitsParam(v, t)) {
      const want = PARAM_TYPE_NAMES[t];
      this.fail(
        v === undefined
          ? `invalid value; expected ${want}`
          : `wrong type for value; expected ${want}; got ${goTypeName(v)}`,
      );
    }
    return v;
  }

  /** Calls a function (`recv` undefined) or a method with the command's arguments and the piped value. */
  call(
    dot: GoValue,
    name: string,
    fn: GoFunc | GoMethod,
    recv: GoValue,
    args: readonly Arg[],
    final: Final,
  ): GoValue {
    this.tick();
    const n = args.length + (final === MISSING ? 0 : 1);
    if (fn.variadic ? n < fn.params.length : n !== fn.params.length) {
      this.fail(
        `wrong number of args for ${name}: want ${
          fn.variadic ? "at least " : ""
        }${fn.params.length} got ${n}`,
      );
    }
    const typeAt = (i: number) => fn.params[i] ?? fn.variadic!;
    if (recv === undefined && (name === "and" || name === "or")) {
      let v: GoValue = undefined;
      for (const a of args) {
        v = this.value(dot, a);
        if (truth(v) === (name === "or")) return v;
      }
      return final === MISSING ? v : final;
    }
    const vals = args.map((a, i) => this.arg(dot, a, typeAt(i)));
    if (final !== MISSING) vals.push(this.check(final, typeAt(args.length)));
    try {
      return recv === undefined
        ? (fn as GoFunc).call(vals, this.o.env)
        : (fn as GoMethod).call(recv, vals);
    } catch (e) {
      if (e instanceof FnError) this.fail(`error calling ${name}: ${e.message}`);
      throw e;
    }
  }
}

/**
 * Renders a parsed template; throws {@linkcode TemplateRenderError} when it
 * fails. Anything else a function throws (other than {@linkcode FnError})
 * passes through unchanged, for the dialect to handle.
 */
export function execute(t: Template, o: ExecOptions): string {
  const x = new Exec(o, t, t);
  x.vars.push({ name: "$", v: o.data });
  for (const [name, v] of Object.entries(o.vars ?? {})) x.vars.push({ name, v });
  x.walk(o.data, t.nodes);
  return x.out;
}
