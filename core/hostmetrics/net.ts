/**
 * node_exporter's network collectors: `netdev`, `netclass`, `netstat`,
 * `sockstat`, `softnet`, `conntrack` and `arp`.
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";
import { openLibc } from "./libc.ts";
import { parseNetDev } from "./procfs.ts";
import { type HostPaths, NoDataError, readOptional, readText } from "./_source.ts";

/** node_exporter's default `--collector.netstat.fields`. */
const NETSTAT_FIELDS =
  /^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$/;
/** The /proc/net/sockstat fields node_exporter exports, in its order. */
const SOCKSTAT_FIELDS = ["inuse", "orphan", "tw", "alloc", "mem", "memory", "mem_bytes"];

/** /proc/net/stat/nf_conntrack columns node_exporter exports, with its help texts. */
const CONNTRACK_STATS: readonly [string, string][] = [
  ["found", "Number of searched entries which were successful."],
  ["invalid", "Number of packets seen which can not be tracked."],
  ["ignore", "Number of packets seen which are already connected to a conntrack entry."],
  ["insert", "Number of entries inserted into the list."],
  ["insert_failed", "Number of entries for which list insertion was attempted but failed."],
  ["drop", "Number of packets dropped due to conntrack failure."],
  [
    "early_drop",
    "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
  ],
  [
    "search_restart",
    "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
  ],
];

/** The page size, for sockstat's `mem` (pages) in bytes; read once. */
let pageSize: number | undefined;

/** `netdev`: per-interface counters from /proc/net/dev. */
export function collectNetdev(src: HostPaths, out: Exposition): void {
  const devs = parseNetDev(readText(`${src.proc}/net/dev`)).slice(0, src.max);
  // rx_nohandler is not in /proc/net/dev; node_exporter gets it over netlink.
  const nohandler = devs.map((d) =>
    readOptional(`${src.sys}/class/net/${d.device}/statistics/rx_nohandler`)
  );
  devs.forEach((d, i) => {
    const stats = new Map(d.stats);
    const nh = Number(nohandler[i]);
    if (nohandler[i] !== undefined && Number.isFinite(nh)) stats.set("receive_nohandler", nh);
    for (const [k, v] of stats) {
      out.add(`node_network_${k}_total`, `Network device statistic ${k}.`, "counter", v, {
        device: d.device,
      });
    }
  });
}

/** `netclass`: state and properties of each interface from /sys/class/net. */
export function collectNetclass(src: HostPaths, out: Exposition): void {
  const root = `${src.sys}/class/net`;
  const devs: string[] = [];
  for (const e of Deno.readDirSync(root)) {
    // Interfaces are links to device directories; skip files (bonding_masters).
    try {
      if (Deno.statSync(`${root}/${e.name}`).isDirectory) devs.push(e.name);
    } catch {
      continue;
    }
    if (devs.length >= src.max) break;
  }
  for (const device of devs.sort()) {
    const dir = `${root}/${device}`;
    // Attributes a driver does not support fail to read (EINVAL): left out.
    const read = (f: string) => readOptional(`${dir}/${f}`);
    const num = (f: string) => {
      const t = read(f);
      if (t === undefined || t === "") return undefined;
      const v = Number(t); // Also parses the hex of dev_id and flags.
      return Number.isFinite(v) ? v : undefined;
    };
    const operstate = read("operstate") ?? "";
    out.add(
      "node_network_up",
      "Value is 1 if operstate is 'up', 0 otherwise.",
      "gauge",
      operstate === "up" ? 1 : 0,
      { device },
    );
    const flags = num("flags");
    out.add(
      "node_network_info",
      "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
      "gauge",
      1,
      {
        device,
        address: read("address") ?? "",
        broadcast: read("broadcast") ?? "",
        duplex: read("duplex") ?? "",
        operstate,
        adminstate: flags === undefined ? "unknown" : (flags & 1) === 1 ? "up" : "down",
        ifalias: read("ifalias") ?? "",
      },
    );
    const fields: [string, string, "gauge" | "counter"][] = [
      ["addr_assign_type", "address_assign_type", "gauge"],
      ["carrier", "carrier", "gauge"],
      ["carrier_changes", "carrier_changes_total", "counter"],
      ["carrier_up_count", "carrier_up_changes_total", "counter"],
      ["carrier_down_count", "carrier_down_changes_total", "counter"],
      ["dev_id", "device_id", "gauge"],
      ["dormant", "dormant", "gauge"],
      ["flags", "flags", "gauge"],
      ["ifindex", "iface_id", "gauge"],
      ["iflink", "iface_link", "gauge"],
      ["link_mode", "iface_link_mode", "gauge"],
      ["mtu", "mtu_bytes", "gauge"],
      ["name_assign_type", "name_assign_type", "gauge"],
      ["netdev_group", "net_dev_group", "gauge"],
      ["tx_queue_len", "transmit_queue_length", "gauge"],
      ["type", "protocol_type", "gauge"],
    ];
    for (const [file, name, type] of fields) {
      const v = num(file);
      if (v !== undefined) {
        out.add(`node_network_${name}`, `Network device property: ${name}`, type, v, { device });
      }
    }
    // Mbit/s -> bytes/s; an unknown speed (-1) is written as node_exporter does.
    const speed = num("speed");
    if (speed !== undefined) {
      out.add(
        "node_network_speed_bytes",
        "Network device property: speed_bytes",
        "gauge",
        Math.trunc(speed * 1e6 / 8),
        { device },
      );
    }
  }
}

/** `netstat`: protocol statistics from /proc/net/netstat, snmp and snmp6. */
export function collectNetstat(src: HostPaths, out: Exposition): void {
  // /proc/net/netstat and /proc/net/snmp: a header line and a value line per protocol.
  const stats = new Map<string, Map<string, string>>();
  for (const file of ["net/netstat", "net/snmp"]) {
    const lines = readText(`${src.proc}/${file}`).split("\n");
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(" "), values = lines[i + 1]!.split(" ");
      if (names.length !== values.length || !names[0]!.endsWith(":")) continue;
      const m = new Map<string, string>();
      for (let k = 1; k < names.length; k++) m.set(names[k]!, values[k]!);
      stats.set(names[0]!.slice(0, -1), m);
    }
  }
  // /proc/net/snmp6 (absent without IPv6): "Ip6InReceives 123", split after the "6".
  for (const line of (readOptional(`${src.proc}/net/snmp6`) ?? "").split("\n")) {
    const f = line.trim().split(/\s+/);
    const six = f[0]?.indexOf("6") ?? -1;
    if (f.length < 2 || six < 0) continue;
    const proto = f[0]!.slice(0, six + 1);
    let m = stats.get(proto);
    if (!m) stats.set(proto, m = new Map());
    m.set(f[0]!.slice(six + 1), f[1]!);
  }
  for (const [proto, m] of stats) {
    for (const [name, raw] of m) {
      const key = `${proto}_${name}`;
      if (!NETSTAT_FIELDS.test(key)) continue;
      const v = Number(raw);
      if (raw === "" || !Number.isFinite(v)) continue;
      out.add(`node_netstat_${key}`, `Statistic ${proto}${name}.`, "untyped", v);
    }
  }
}

/** `sockstat`: sockets by protocol and state from /proc/net/sockstat and sockstat6. */
export function collectSockstat(src: HostPaths, out: Exposition): void {
  const v4 = readOptional(`${src.proc}/net/sockstat`);
  const v6 = readOptional(`${src.proc}/net/sockstat6`);
  if (v4 === undefined && v6 === undefined) throw new NoDataError("no sockstat");
  pageSize ??= openLibc()?.getpagesize() ?? 4096;
  for (const [text, ipv6] of [[v4, false], [v6, true]] as const) {
    for (const line of (text ?? "").split("\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const proto = line.slice(0, colon);
      const f = line.slice(colon + 1).trim().split(/\s+/);
      const fields = new Map<string, number>();
      for (let i = 0; i + 1 < f.length; i += 2) fields.set(f[i]!, Number(f[i + 1]));
      if (proto === "sockets") {
        const used = fields.get("used");
        if (!ipv6 && used !== undefined) {
          out.add("node_sockstat_sockets_used", "Number of IPv4 sockets in use.", "gauge", used);
        }
        continue;
      }
      const mem = fields.get("mem");
      if (mem !== undefined) fields.set("mem_bytes", mem * pageSize);
      for (const name of SOCKSTAT_FIELDS) {
        const v = fields.get(name);
        if (v === undefined || !Number.isFinite(v)) continue;
        out.add(
          `node_sockstat_${proto}_${name}`,
          `Number of ${proto} sockets in state ${name}.`,
          "gauge",
          v,
        );
      }
    }
  }
}

/** `softnet`: per-CPU packet processing from /proc/net/softnet_stat. */
export function collectSoftnet(src: HostPaths, out: Exposition): void {
  const lines = readText(`${src.proc}/net/softnet_stat`).split("\n").filter((l) => l !== "");
  lines.slice(0, src.max).forEach((line, i) => {
    const c = line.trim().split(/\s+/).map((x) => parseInt(x, 16));
    const col = (k: number) => Number.isFinite(c[k]) ? c[k]! : 0;
    // Kernels since 5.10 print the CPU id in column 13; before, the line number is it.
    const cpu = String(c.length > 12 ? col(12) : i);
    const add = (name: string, help: string, k: number, type: "counter" | "gauge" = "counter") =>
      out.add(`node_softnet_${name}`, help, type, col(k), { cpu });
    add("processed_total", "Number of processed packets", 0);
    add("dropped_total", "Number of dropped packets", 1);
    add("times_squeezed_total", "Number of times processing packets ran out of quota", 2);
    add(
      "cpu_collision_total",
      "Number of collision occur while obtaining device lock while transmitting",
      8,
    );
    add("received_rps_total", "Number of times cpu woken up received_rps", 9);
    add("flow_limit_count_total", "Number of times flow limit has been reached", 10);
    add("backlog_len", "Softnet backlog status", 11, "gauge");
  });
}

/** `conntrack`: connection tracking table size and statistics. */
export function collectConntrack(src: HostPaths, out: Exposition): void {
  const nf = `${src.proc}/sys/net/netfilter`;
  const count = readOptional(`${nf}/nf_conntrack_count`);
  if (count === undefined) throw new NoDataError("conntrack is not loaded");
  out.add(
    "node_nf_conntrack_entries",
    "Number of currently allocated flow entries for connection tracking.",
    "gauge",
    Number(count),
  );
  const max = readOptional(`${nf}/nf_conntrack_max`);
  if (max !== undefined) {
    out.add(
      "node_nf_conntrack_entries_limit",
      "Maximum size of connection tracking table.",
      "gauge",
      Number(max),
    );
  }
  // Per-CPU hex counters under a header line, summed as node_exporter does.
  const stat = readOptional(`${src.proc}/net/stat/nf_conntrack`);
  if (stat === undefined) return;
  const [head, ...rows] = stat.split("\n");
  const names = (head ?? "").trim().split(/\s+/);
  const sums = new Map<string, number>();
  for (const row of rows) {
    const v = row.trim().split(/\s+/);
    if (v.length !== names.length) continue;
    names.forEach((n, k) => sums.set(n, (sums.get(n) ?? 0) + parseInt(v[k]!, 16)));
  }
  for (const [field, help] of CONNTRACK_STATS) {
    const v = sums.get(field);
    if (v !== undefined) out.add(`node_nf_conntrack_stat_${field}`, help, "gauge", v);
  }
}

/** `arp`: ARP entries by interface from /proc/net/arp. */
export function collectArp(src: HostPaths, out: Exposition): void {
  const lines = readText(`${src.proc}/net/arp`).split("\n").slice(1);
  const byDevice = new Map<string, number>();
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    byDevice.set(f[5]!, (byDevice.get(f[5]!) ?? 0) + 1);
  }
  for (const [device, n] of byDevice) {
    out.add("node_arp_entries", "ARP entries by device", "gauge", n, { device });
  }
}
