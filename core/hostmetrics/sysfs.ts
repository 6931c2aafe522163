/**
 * Readers for the `/sys` trees the host collector walks: hardware monitor
 * chips (`class/hwmon`) and thermal zones and cooling devices
 * (`class/thermal`). Names, labels and units follow node_exporter's hwmon
 * and thermal_zone collectors. Every walk is bounded by `maxEntries`.
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";

/**
 * Reads a small sysfs file; undefined when it cannot be read. Reads are
 * synchronous: sysfs attributes are produced in memory (see collector.ts).
 */
function readValue(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).replace(/\n+$/, "");
  } catch {
    return undefined;
  }
}

function listDir(path: string, max: number): string[] | undefined {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(path)) {
      out.push(e.name);
      if (out.length >= max) break;
    }
  } catch {
    return undefined;
  }
  return out.sort();
}

function baseName(p: string): string {
  const t = p.replace(/\/+$/, "");
  return t.slice(t.lastIndexOf("/") + 1);
}

/** node_exporter's cleanMetricName: lower case, `[^a-z0-9:_]` -> `_`, trimmed of `_`. */
export function cleanName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9:_]/g, "_").replace(/^_+|_+$/g, "");
}

const SENSOR_FILE_REGEXP = /^([^0-9]+)([0-9]*)?(_(.+))?$/;
const SENSOR_TYPES = new Set([
  "vrm",
  "beep_enable",
  "update_interval",
  "in",
  "cpu",
  "fan",
  "pwm",
  "temp",
  "curr",
  "power",
  "energy",
  "humidity",
  "intrusion",
  "freq",
]);

/** Splits `temp1_crit_alarm` into type `temp`, number 1 and property `crit_alarm`. */
export function explodeSensorFile(
  name: string,
): { type: string; num: number; prop: string } | undefined {
  const m = SENSOR_FILE_REGEXP.exec(name);
  if (!m) return undefined;
  return { type: m[1]!, num: m[2] ? Number(m[2]) : 0, prop: m[4] ?? "" };
}

/** Sensor (`temp1`) -> property (`input`, `crit`, `label`, `""`) -> raw text. */
type SensorData = Map<string, Map<string, string>>;

function collectSensorFiles(dir: string, data: SensorData, max: number): void {
  const names = listDir(dir, max);
  if (!names) return;
  names.forEach((name) => {
    const e = explodeSensorFile(name);
    if (!e || !SENSOR_TYPES.has(e.type)) return;
    const v = readValue(`${dir}/${name}`);
    if (v === undefined) return;
    const sensor = `${e.type}${e.num}`;
    let m = data.get(sensor);
    if (!m) data.set(sensor, m = new Map());
    m.set(e.prop, v);
  });
}

function realPath(p: string): string | undefined {
  try {
    return Deno.realPathSync(p);
  } catch {
    return undefined;
  }
}

/** The chip label: `<bus>_<device>` of the device link, else the `name` file, else `hwmonN`. */
function hwmonBaseName(dir: string): string | undefined {
  const dev = realPath(`${dir}/device`);
  if (dev !== undefined) {
    const devName = cleanName(baseName(dev));
    const devType = cleanName(baseName(dev.slice(0, dev.lastIndexOf("/"))));
    if (devType !== "" && devName !== "") return `${devType}_${devName}`;
    if (devName !== "") return devName;
  }
  const name = readValue(`${dir}/name`);
  if (name) {
    const c = cleanName(name);
    if (c !== "") return c;
  }
  const real = realPath(dir);
  const c = real === undefined ? "" : cleanName(baseName(real));
  return c === "" ? undefined : c;
}

/** Writes node_hwmon_* for every chip under `<sys>/class/hwmon`; false when there is none. */
export function collectHwmon(
  sys: string,
  out: Exposition,
  maxEntries: number,
): boolean {
  const root = `${sys}/class/hwmon`;
  const entries = listDir(root, maxEntries);
  if (entries === undefined) return false;
  const chips: { dir: string; base: string; nameFile: string }[] = [];
  for (const e of entries) {
    const dir = `${root}/${e}`;
    try {
      if (!(Deno.statSync(dir)).isDirectory) continue;
    } catch {
      continue;
    }
    const base = hwmonBaseName(dir);
    if (base === undefined) continue;
    chips.push({ dir, base, nameFile: readValue(`${dir}/name`)?.trim() ?? "" });
  }
  // Several hwmon nodes of one device get the same base name: tell them apart
  // by the `name` file when that differs, else by the hwmonN directory.
  const count = (pred: (c: typeof chips[number]) => boolean) => chips.filter(pred).length;
  for (const c of chips) {
    let chip = c.base;
    if (count((o) => o.base === c.base) > 1) {
      let suffix = cleanName(c.nameFile);
      if (suffix === "" || count((o) => o.base === c.base && o.nameFile === c.nameFile) > 1) {
        suffix = cleanName(baseName(c.dir));
      }
      chip = `${c.base}_${suffix}`;
    }
    writeChip(c.dir, chip, c.nameFile, out, maxEntries);
  }
  return true;
}

function writeChip(
  dir: string,
  chip: string,
  nameFile: string,
  out: Exposition,
  max: number,
): void {
  const data: SensorData = new Map();
  collectSensorFiles(dir, data, max);
  try {
    if ((Deno.statSync(`${dir}/device`)).isDirectory) {
      collectSensorFiles(`${dir}/device`, data, max);
    }
  } catch {
    // No device directory.
  }
  const chipName = cleanName(nameFile);
  if (chipName !== "") {
    out.add(
      "node_hwmon_chip_names",
      "Annotation metric for human-readable chip names",
      "gauge",
      1,
      { chip, chip_name: chipName },
    );
  }
  for (const sensor of [...data.keys()].sort()) {
    const props = data.get(sensor)!;
    const type = explodeSensorFile(sensor)!.type;
    const labels = { chip, sensor };
    const label = props.get("label");
    if (label !== undefined) {
      out.add("node_hwmon_sensor_label", "Label for given chip and sensor", "gauge", 1, {
        chip,
        sensor,
        label,
      });
    }
    if (type === "beep_enable") {
      const v = props.get("") === "1" ? 1 : 0;
      out.add("node_hwmon_beep_enabled", "Hardware beep enabled", "gauge", v, labels);
      continue;
    }
    if (type === "vrm" || type === "update_interval") {
      const v = Number(props.get(""));
      if (props.get("") === undefined || !Number.isFinite(v)) continue;
      if (type === "vrm") {
        out.add(
          "node_hwmon_voltage_regulator_version",
          "Hardware voltage regulator",
          "gauge",
          v,
          labels,
        );
      } else {
        out.add(
          "node_hwmon_update_interval_seconds",
          "Hardware monitor update interval",
          "gauge",
          v * 0.001,
          labels,
        );
      }
      continue;
    }
    writeSensor(type, props, labels, out);
  }
}

/** One sensor's properties, named and scaled as node_exporter does. */
function writeSensor(
  type: string,
  props: Map<string, string>,
  labels: Record<string, string>,
  out: Exposition,
): void {
  const prefix = `node_hwmon_${type}`;
  for (const [element0, raw] of props) {
    let element = element0;
    if (element === "label") continue;
    let name = prefix;
    if (element === "input") {
      if (props.has("")) name += "_input";
    } else if (element !== "") {
      name += `_${cleanName(element)}`;
    }
    const v = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(v)) continue;
    if (element === "fault" || element === "alarm") {
      out.add(name, `Hardware sensor ${element} status (${type})`, "gauge", v, labels);
    } else if (element === "beep") {
      out.add(`${name}_enabled`, "Hardware monitor sensor has beeping enabled", "gauge", v, labels);
    } else if (type === "in" || type === "cpu") {
      out.add(
        `${name}_volts`,
        `Hardware monitor for voltage (${element})`,
        "gauge",
        v * 0.001,
        labels,
      );
    } else if (type === "temp" && element !== "type") {
      if (element === "") element = "input";
      out.add(
        `${name}_celsius`,
        `Hardware monitor for temperature (${element})`,
        "gauge",
        v * 0.001,
        labels,
      );
    } else if (type === "curr") {
      out.add(
        `${name}_amps`,
        `Hardware monitor for current (${element})`,
        "gauge",
        v * 0.001,
        labels,
      );
    } else if (type === "energy") {
      out.add(
        `${name}_joule_total`,
        `Hardware monitor for joules used so far (${element})`,
        "counter",
        v / 1e6,
        labels,
      );
    } else if (type === "power" && element === "accuracy") {
      out.add(name, "Hardware monitor power meter accuracy, as a ratio", "gauge", v / 1e6, labels);
    } else if (type === "power" && element.startsWith("average_interval")) {
      out.add(
        `${name}_seconds`,
        `Hardware monitor power usage update interval (${element})`,
        "gauge",
        v * 0.001,
        labels,
      );
    } else if (type === "power") {
      out.add(
        `${name}_watt`,
        `Hardware monitor for power usage in watts (${element})`,
        "gauge",
        v / 1e6,
        labels,
      );
    } else if (type === "humidity") {
      out.add(
        name,
        `Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) (${element})`,
        "gauge",
        v / 1e6,
        labels,
      );
    } else if (
      type === "fan" && ["input", "min", "max", "target"].includes(element)
    ) {
      out.add(
        `${name}_rpm`,
        `Hardware monitor for fan revolutions per minute (${element})`,
        "gauge",
        v,
        labels,
      );
    } else if (type === "freq") {
      continue; // GPU frequencies: not covered.
    } else {
      out.add(name, `Hardware monitor ${type} element ${element}`, "gauge", v, labels);
    }
  }
}

/**
 * Writes node_thermal_zone_temp and node_cooling_device_{cur,max}_state from
 * `<sys>/class/thermal`; false when the directory is missing.
 */
export function collectThermal(
  sys: string,
  out: Exposition,
  maxEntries: number,
): boolean {
  const root = `${sys}/class/thermal`;
  const entries = listDir(root, maxEntries);
  if (entries === undefined) return false;
  entries.forEach((e) => {
    const dir = `${root}/${e}`;
    if (e.startsWith("thermal_zone")) {
      const [type, temp] = [readValue(`${dir}/type`), readValue(`${dir}/temp`)];
      const t = Number(temp);
      if (type === undefined || temp === undefined || temp === "" || !Number.isFinite(t)) return;
      out.add("node_thermal_zone_temp", "Zone temperature in Celsius", "gauge", t / 1000, {
        zone: e.slice("thermal_zone".length),
        type,
      });
    } else if (e.startsWith("cooling_device")) {
      const [type, cur, max] = [
        readValue(`${dir}/type`),
        readValue(`${dir}/cur_state`),
        readValue(`${dir}/max_state`),
      ];
      if (type === undefined) return;
      const labels = { name: e.slice("cooling_device".length), type };
      const c = Number(cur), m = Number(max);
      if (cur !== undefined && cur !== "" && Number.isFinite(c)) {
        out.add(
          "node_cooling_device_cur_state",
          "Current throttle state of the cooling device",
          "gauge",
          c,
          labels,
        );
      }
      if (max !== undefined && max !== "" && Number.isFinite(m)) {
        out.add(
          "node_cooling_device_max_state",
          "Maximum throttle state of the cooling device",
          "gauge",
          m,
          labels,
        );
      }
    }
  });
  return true;
}
