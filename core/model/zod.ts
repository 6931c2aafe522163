/**
 * The zod Perch validates with: `zod/mini`, the same schemas, checks and
 * issues as classic zod written as functions (`z.optional(s)`,
 * `s.check(z.minLength(1))`). Classic zod cost start-up ~20 ms more
 * (evaluating its module and setting up each schema class on its first
 * instance). zod/mini sets no locale, so issues would read "Invalid input";
 * classic zod's English messages are configured here, as classic zod
 * configures them on its first schema.
 *
 * @module
 */
import * as z from "zod/mini";

z.config(z.locales.en());

/**
 * A field given as text or a number, turned into a number by `parse`
 * (durations, sizes); where `parse` gives undefined, the field's issue is
 * `message`.
 */
export function parsedNumber(
  parse: (v: string | number) => number | undefined,
  message: string,
) {
  return z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((v, ctx) => {
      const n = parse(v);
      if (n === undefined) {
        ctx.issues.push({ code: "custom", message, input: v });
        return z.NEVER;
      }
      return n;
    }),
  );
}

export { z };
