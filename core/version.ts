/** Perch's version, reported in build info, `/metrics` and the UI. */
export const VERSION = "0.1.0";
