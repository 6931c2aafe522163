/**
 * The `--name=value` flags the benchmark tools take.
 *
 * @module
 */

/** The value of `--<k>=value` among this process's arguments, or `d` when absent. */
export function arg(k: string, d: string): string {
  const a = Deno.args.find((x) => x.startsWith(`--${k}=`));
  return a ? a.slice(k.length + 3) : d;
}
