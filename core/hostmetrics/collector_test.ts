import assert from "node:assert/strict";
import { statfs } from "node:fs/promises";
import { parsePrometheusText } from "../ingest/mod.ts";
import { HostCollector } from "./collector.ts";
import type { StatFs } from "./filesystem.ts";
import { decodeStatfs, libcStatfs, openLibc } from "./libc.ts";
import { decodeTimex, type TimexReading } from "./timex.ts";
import { hostJobs } from "./mod.ts";

const DATA = new URL("./testdata/", import.meta.url).pathname;
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

/** statfs answers by mount point (the fixture root stripped); unknown paths fail. */
function fakeStatfs(root: string, table: Record<string, StatFs | Error>) {
  const calls: string[] = [];
  const fn = (path: string): Promise<StatFs> => {
    const mp = path.slice(root.replace(/\/+$/, "").length) || "/";
    calls.push(mp);
    const r = table[mp];
    if (r === undefined) return Promise.reject(new Error(`ENOENT: ${mp}`));
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  };
  return { fn, calls };
}

const DISK: StatFs = { bsize: 4096, blocks: 1000, bfree: 600, bavail: 550, files: 640, ffree: 600 };

/** Parses exposition text into `name{sorted labels}` → value, plus TYPE and HELP by family. */
function parse(text: string) {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      types.set(name!, type!);
    } else if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      helps.set(rest.slice(0, rest.indexOf(" ")), rest.slice(rest.indexOf(" ") + 1));
    } else if (line !== "") {
      const sp = line.lastIndexOf(" ");
      values.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
  }
  const get = (key: string) => values.get(key);
  const names = new Set([...values.keys()].map((k) => k.replace(/\{.*/, "")));
  const keysOf = (name: string) =>
    [...values.keys()].filter((k) => k === name || k.startsWith(`${name}{`)).sort();
  return { values, types, helps, get, names, keysOf };
}

function timex(state: number, status = 0): TimexReading {
  return {
    state,
    offset: 1500,
    freq: 65536 * 10,
    maxerror: 16_000_000,
    esterror: 250,
    status,
    constant: 7,
    tick: 10_000,
    ppsfreq: 0,
    jitter: 2000,
    shift: 0,
    stabil: 0,
    jitcnt: 0,
    calcnt: 0,
    errcnt: 0,
    stbcnt: 0,
    tai: 37,
  };
}

Deno.test("HostCollector on an x86 box writes node_exporter's names, labels and units", async () => {
  const root = `${DATA}x86`;
  const statfs = fakeStatfs(root, {
    "/": DISK,
    "/boot/efi": { ...DISK, bsize: 512 },
    "/srv/data store": DISK,
    "/media/backup": DISK,
    "/run": DISK,
    "/run/user/1000": DISK,
  });
  const c = new HostCollector({
    root,
    statfs: statfs.fn,
    now: () => NOW,
    timex: () => timex(0),
    zone: (ms) => ({ name: ms === NOW ? "CET" : "?", offsetSeconds: 3600 }),
  });
  const text = await c.collect();
  const m = parse(text);

  // The text is valid exposition format for Perch's own scrape parser.
  const parsed = parsePrometheusText(text, { now: NOW });
  assert.deepEqual(parsed.errors, []);
  assert.equal(parsed.sampleCount, m.values.size);
  assert.equal(parsed.metadata.get("node_load1")?.type, "gauge");

  // cpu: ticks of USER_HZ → seconds, one series per CPU and mode; guest apart.
  assert.equal(m.get('node_cpu_seconds_total{cpu="0",mode="user"}'), 617.28);
  assert.equal(m.get('node_cpu_seconds_total{cpu="1",mode="idle"}'), 49382.72);
  assert.equal(m.get('node_cpu_seconds_total{cpu="0",mode="steal"}'), 0.28);
  assert.equal(m.keysOf("node_cpu_seconds_total").length, 16);
  assert.equal(m.get('node_cpu_guest_seconds_total{cpu="0",mode="user"}'), 1);
  assert.equal(m.get('node_cpu_guest_seconds_total{cpu="0",mode="nice"}'), 0.05);
  assert.equal(m.types.get("node_cpu_seconds_total"), "counter");
  assert.equal(m.helps.get("node_cpu_seconds_total"), "Seconds the CPUs spent in each mode.");

  // cpufreq (intel_pstate).
  assert.equal(m.get('node_cpu_scaling_frequency_hertz{cpu="1"}'), 2_400_000_000);
  assert.equal(m.get('node_cpu_scaling_governor{cpu="0",governor="powersave"}'), 1);

  // stat.
  assert.equal(m.get("node_boot_time_seconds"), 1733400000);
  assert.equal(m.get("node_context_switches_total"), 123456789);
  assert.equal(m.get("node_intr_total"), 98765432);
  assert.equal(m.get("node_forks_total"), 54321);
  assert.equal(m.get("node_procs_running"), 3);
  assert.equal(m.get("node_procs_blocked"), 1);

  // meminfo: kB → bytes with _bytes; "(anon)" → "_anon"; page counts keep their name.
  assert.equal(m.get("node_memory_MemTotal_bytes"), 8058088 * 1024);
  assert.equal(m.get("node_memory_MemAvailable_bytes"), 4123456 * 1024);
  assert.equal(m.get("node_memory_Active_anon_bytes"), 1234567 * 1024);
  assert.equal(m.get("node_memory_HugePages_Total"), 0);
  assert.equal(m.get("node_memory_SwapFree_bytes"), 2097148 * 1024);
  assert.equal(m.types.get("node_memory_MemTotal_bytes"), "gauge");
  assert.equal(
    m.helps.get("node_memory_MemTotal_bytes"),
    "Memory information field MemTotal_bytes.",
  );

  // loadavg.
  assert.equal(m.get("node_load1"), 0.52);
  assert.equal(m.get("node_load5"), 0.58);
  assert.equal(m.get("node_load15"), 0.59);

  // diskstats: partitions and loop devices are excluded; sectors → bytes,
  // ms → s; 17-field lines have flush counters, 15-field lines do not.
  assert.deepEqual(
    m.keysOf("node_disk_reads_completed_total"),
    [
      'node_disk_reads_completed_total{device="dm-0"}',
      'node_disk_reads_completed_total{device="nvme0n1"}',
      'node_disk_reads_completed_total{device="sda"}',
    ],
  );
  assert.equal(m.get('node_disk_read_bytes_total{device="nvme0n1"}'), 9600000 * 512);
  assert.equal(m.get('node_disk_written_bytes_total{device="nvme0n1"}'), 6400000 * 512);
  assert.equal(m.get('node_disk_io_time_seconds_total{device="nvme0n1"}'), 70);
  assert.equal(m.get('node_disk_io_now{device="dm-0"}'), 2);
  assert.equal(m.get('node_disk_flush_requests_total{device="nvme0n1"}'), 2000);
  assert.equal(m.get('node_disk_discarded_sectors_total{device="nvme0n1"}'), 40960);
  assert.equal(m.get('node_disk_flush_requests_total{device="sda"}'), undefined);
  assert.equal(m.get('node_disk_discards_completed_total{device="sda"}'), 0);
  assert.equal(m.types.get("node_disk_io_now"), "gauge");
  // node_disk_info from udev's database and sysfs; filesystem info from udev.
  assert.equal(
    m.get(
      'node_disk_info{device="nvme0n1",major="259",minor="0",model="Samsung SSD 980 1TB",' +
        'path="pci-0000:3d:00.0-nvme-1",revision="3B4QFXO7",rotational="0",' +
        'serial="S64ANS0T123456",wwn="eui.002538b111111111"}',
    ),
    1,
  );
  assert.equal(m.get('node_disk_info{device="sda",major="8",minor="0",rotational="1"}'), 1);
  assert.equal(
    m.get(
      'node_disk_filesystem_info{device="dm-0",type="ext4",usage="filesystem",' +
        'uuid="0a1b2c3d-aaaa-bbbb-cccc-111122223333",version="1.0"}',
    ),
    1,
  );

  // netdev: every device (no default exclusion), rx_nohandler from sysfs.
  assert.equal(m.get('node_network_receive_bytes_total{device="enp3s0"}'), 987654321);
  assert.equal(m.get('node_network_transmit_bytes_total{device="enp3s0"}'), 123456789);
  assert.equal(m.get('node_network_receive_drop_total{device="enp3s0"}'), 2);
  assert.equal(m.get('node_network_transmit_colls_total{device="enp3s0"}'), 8);
  assert.equal(m.get('node_network_transmit_carrier_total{device="enp3s0"}'), 9);
  assert.equal(m.get('node_network_receive_multicast_total{device="enp3s0"}'), 1234);
  assert.equal(m.get('node_network_receive_nohandler_total{device="enp3s0"}'), 7);
  assert.equal(m.get('node_network_receive_nohandler_total{device="wlp2s0"}'), undefined);
  assert.equal(m.get('node_network_receive_packets_total{device="lo"}'), 2048);

  // netclass: sysfs attributes per interface; unreadable ones left out.
  assert.deepEqual(m.keysOf("node_network_up"), [
    'node_network_up{device="enp3s0"}',
    'node_network_up{device="lo"}',
    'node_network_up{device="wlp2s0"}',
  ]);
  assert.equal(m.get('node_network_up{device="enp3s0"}'), 1);
  assert.equal(m.get('node_network_up{device="lo"}'), 0);
  assert.equal(
    m.get(
      'node_network_info{address="00:d8:61:12:34:56",adminstate="up",broadcast="ff:ff:ff:ff:ff:ff",' +
        'device="enp3s0",duplex="full",ifalias="uplink",operstate="up"}',
    ),
    1,
  );
  assert.equal(m.get('node_network_speed_bytes{device="enp3s0"}'), 125_000_000);
  assert.equal(m.get('node_network_speed_bytes{device="lo"}'), undefined);
  assert.equal(m.get('node_network_mtu_bytes{device="lo"}'), 65536);
  assert.equal(m.get('node_network_flags{device="enp3s0"}'), 0x1003);
  assert.equal(m.get('node_network_carrier_changes_total{device="enp3s0"}'), 4);
  assert.equal(m.types.get("node_network_carrier_changes_total"), "counter");
  assert.equal(m.get('node_network_protocol_type{device="lo"}'), 772);

  // vmstat: node_exporter's default field set, untyped.
  assert.deepEqual([...m.names].filter((n) => n.startsWith("node_vmstat_")).sort(), [
    "node_vmstat_oom_kill",
    "node_vmstat_pgfault",
    "node_vmstat_pgmajfault",
    "node_vmstat_pgpgin",
    "node_vmstat_pgpgout",
    "node_vmstat_pswpin",
    "node_vmstat_pswpout",
  ]);
  assert.equal(m.get("node_vmstat_oom_kill"), 1);
  assert.equal(m.types.get("node_vmstat_pgfault"), "untyped");

  // netstat (node_exporter's default fields, untyped) and sockstat, from real captures.
  assert.equal(m.get("node_netstat_Ip_Forwarding"), 2);
  assert.equal(m.get("node_netstat_Tcp_ActiveOpens"), 7425);
  assert.equal(m.get("node_netstat_Tcp_CurrEstab"), 22);
  assert.equal(m.get("node_netstat_Icmp_InMsgs"), 1);
  assert.equal(m.get("node_netstat_Tcp_MaxConn"), undefined, "not a default field");
  assert.ok(m.get("node_netstat_Ip6_InOctets")! > 0, "from snmp6");
  assert.equal(m.types.get("node_netstat_Tcp_InSegs"), "untyped");
  assert.equal(m.helps.get("node_netstat_Tcp_InSegs"), "Statistic TcpInSegs.");
  assert.equal(m.get("node_sockstat_sockets_used"), 180);
  assert.equal(m.get("node_sockstat_TCP_tw"), 58);
  assert.equal(m.get("node_sockstat_TCP_mem"), 26);
  assert.equal(m.get("node_sockstat_TCP_mem_bytes")! % 26, 0, "pages × page size");
  assert.equal(m.get("node_sockstat_FRAG_memory"), 0);
  assert.ok(m.names.has("node_sockstat_TCP6_inuse"));

  // softnet (hex columns, CPU id from column 13), conntrack (stats summed over CPUs), arp.
  assert.equal(m.get('node_softnet_processed_total{cpu="1"}'), 0x2b17f);
  assert.equal(m.get('node_softnet_processed_total{cpu="0"}'), 0x25355);
  assert.equal(m.types.get("node_softnet_backlog_len"), "gauge");
  assert.equal(m.get("node_nf_conntrack_entries"), 31);
  assert.equal(m.get("node_nf_conntrack_entries_limit"), 262144);
  assert.equal(m.get("node_nf_conntrack_stat_found"), 0x30);
  assert.equal(m.get("node_nf_conntrack_stat_ignore"), 0x300);
  assert.equal(m.get("node_nf_conntrack_stat_insert"), 11);
  assert.equal(m.get("node_nf_conntrack_stat_search_restart"), 2);
  assert.equal(m.get('node_arp_entries{device="enp3s0"}'), 2);
  assert.equal(m.get('node_arp_entries{device="wlp2s0"}'), 1);

  // filesystem: default mount point and fs type exclusions, one series per
  // device/mountpoint/fstype, `\040` decoded, read-only flag, statfs × bsize.
  assert.deepEqual(m.keysOf("node_filesystem_size_bytes"), [
    'node_filesystem_size_bytes{device="/dev/mapper/vg-data",fstype="ext4",mountpoint="/srv/data store"}',
    'node_filesystem_size_bytes{device="/dev/nvme0n1p1",fstype="vfat",mountpoint="/boot/efi"}',
    'node_filesystem_size_bytes{device="/dev/nvme0n1p2",fstype="ext4",mountpoint="/"}',
    'node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/media/backup"}',
    'node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"}',
    'node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run/user/1000"}',
  ]);
  const root_ = 'device="/dev/nvme0n1p2",fstype="ext4",mountpoint="/"';
  assert.equal(m.get(`node_filesystem_size_bytes{${root_}}`), 4096 * 1000);
  assert.equal(m.get(`node_filesystem_free_bytes{${root_}}`), 4096 * 600);
  assert.equal(m.get(`node_filesystem_avail_bytes{${root_}}`), 4096 * 550);
  assert.equal(m.get(`node_filesystem_files{${root_}}`), 640);
  assert.equal(m.get(`node_filesystem_files_free{${root_}}`), 600);
  assert.equal(m.get(`node_filesystem_readonly{${root_}}`), 0);
  assert.equal(m.get(`node_filesystem_device_error{${root_}}`), 0);
  assert.equal(
    m.get(
      'node_filesystem_size_bytes{device="/dev/nvme0n1p1",fstype="vfat",mountpoint="/boot/efi"}',
    ),
    512 * 1000,
  );
  assert.equal(
    m.get('node_filesystem_readonly{device="/dev/sda1",fstype="ext4",mountpoint="/media/backup"}'),
    1,
  );
  assert.equal(
    m.get(
      'node_filesystem_mount_info{device="/dev/nvme0n1p2",major="259",minor="2",mountpoint="/"}',
    ),
    1,
  );
  assert.ok(!statfs.calls.some((p) => /^\/(proc|sys|dev|snap|var\/lib\/docker)/.test(p)));
  assert.equal(statfs.calls.filter((p) => p === "/").length, 1, "the duplicate / is read once");

  // hwmon: chip names from the device link, °C from millidegrees, the
  // `name`-only chip by its name; fans in rpm, voltages in volts.
  const core = 'chip="platform_coretemp_0",sensor="temp1"';
  assert.equal(m.get(`node_hwmon_temp_celsius{${core}}`), 45);
  assert.equal(m.get(`node_hwmon_temp_crit_celsius{${core}}`), 100);
  assert.equal(m.get(`node_hwmon_temp_max_celsius{${core}}`), 80);
  assert.equal(m.get(`node_hwmon_temp_crit_alarm_celsius{${core}}`), 0);
  assert.equal(
    m.get(
      'node_hwmon_sensor_label{chip="platform_coretemp_0",label="Package id 0",sensor="temp1"}',
    ),
    1,
  );
  assert.equal(m.get('node_hwmon_chip_names{chip="platform_coretemp_0",chip_name="coretemp"}'), 1);
  assert.equal(m.get('node_hwmon_temp_celsius{chip="nvme_nvme0",sensor="temp1"}'), 38.85);
  assert.equal(m.get('node_hwmon_temp_alarm{chip="nvme_nvme0",sensor="temp1"}'), 0);
  assert.equal(m.get('node_hwmon_fan_rpm{chip="nct6775",sensor="fan1"}'), 1200);
  assert.equal(m.get('node_hwmon_fan_min_rpm{chip="nct6775",sensor="fan1"}'), 300);
  assert.equal(m.get('node_hwmon_in_volts{chip="nct6775",sensor="in0"}'), 1.032);
  assert.equal(m.get('node_hwmon_pwm{chip="nct6775",sensor="pwm1"}'), 128);
  assert.equal(m.helps.get("node_hwmon_temp_celsius"), "Hardware monitor for temperature (input)");

  // thermal_zone.
  assert.equal(m.get('node_thermal_zone_temp{type="x86_pkg_temp",zone="0"}'), 46);
  assert.equal(m.get('node_thermal_zone_temp{type="acpitz",zone="1"}'), 27.8);
  assert.equal(m.get('node_cooling_device_max_state{name="0",type="Processor"}'), 10);

  // pressure: µs → s.
  assert.equal(m.get("node_pressure_cpu_waiting_seconds_total"), 123.456789);
  assert.equal(m.get("node_pressure_io_stalled_seconds_total"), 1.234567);
  assert.equal(m.get("node_pressure_memory_waiting_seconds_total"), 0.034567);
  assert.equal(m.get("node_pressure_irq_stalled_seconds_total"), undefined);

  // filefd, entropy, uname (machine from the runtime: no /proc/sys/kernel/arch), time.
  assert.equal(m.get("node_filefd_allocated"), 4128);
  assert.equal(m.get("node_filefd_maximum"), 9223372036854775807);
  assert.equal(m.get("node_entropy_available_bits"), 256);
  assert.equal(
    m.get(
      `node_uname_info{domainname="(none)",machine="${Deno.build.arch}",nodename="kiosk-7",` +
        `release="6.1.0-27-amd64",sysname="Linux",version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)"}`,
    ),
    1,
  );
  assert.equal(m.get("node_time_seconds"), NOW / 1000);
  assert.equal(m.get('node_time_zone_offset_seconds{time_zone="CET"}'), 3600);
  assert.equal(
    m.get('node_time_clocksource_current_info{clocksource="tsc",device="0"}'),
    1,
  );
  assert.equal(m.keysOf("node_time_clocksource_available_info").length, 3);

  // timex.
  assert.equal(m.get("node_timex_sync_status"), 1);
  assert.equal(m.get("node_timex_offset_seconds"), 0.0015);
  assert.equal(m.get("node_timex_maxerror_seconds"), 16);
  assert.equal(m.get("node_timex_tai_offset_seconds"), 37);
  assert.equal(m.get("node_timex_frequency_adjustment_ratio"), 1 + 10 / 1e6);

  // Every sub-collector reported success.
  for (const k of m.keysOf("node_scrape_collector_success")) assert.equal(m.get(k), 1, k);
  assert.equal(m.keysOf("node_scrape_collector_success").length, 23);
  assert.deepEqual(c.lastStats.failed, []);
});

Deno.test("HostCollector on a Raspberry Pi reads the SoC temperature, the SD card and no PSI", async () => {
  const root = `${DATA}rpi`;
  const statfs = fakeStatfs(root, {
    "/": {
      bsize: 4096,
      blocks: 7_500_000,
      bfree: 5_000_000,
      bavail: 4_600_000,
      files: 1_900_000,
      ffree: 1_800_000,
    },
    "/boot/firmware": new Error("EACCES: permission denied, statfs"),
    "/run": DISK,
    "/run/lock": DISK,
  });
  const c = new HostCollector({ root, statfs: statfs.fn, now: () => NOW, timex: () => timex(5) });
  const m = parse(await c.collect());

  // The SoC: thermal zone and its hwmon twin (temp0 from the zone's own `temp`).
  assert.equal(m.get('node_thermal_zone_temp{type="cpu-thermal",zone="0"}'), 48.686);
  assert.equal(
    m.get('node_hwmon_temp_celsius{chip="thermal_thermal_zone0",sensor="temp1"}'),
    48.686,
  );
  assert.equal(
    m.get('node_hwmon_temp_celsius{chip="thermal_thermal_zone0",sensor="temp0"}'),
    48.686,
  );
  assert.equal(
    m.get('node_hwmon_chip_names{chip="thermal_thermal_zone0",chip_name="cpu_thermal"}'),
    1,
  );
  // rpi_volt's under-voltage flag, with node_exporter's unit quirk.
  assert.equal(
    m.get('node_hwmon_in_lcrit_alarm_volts{chip="soc:firmware_raspberrypi_hwmon",sensor="in0"}'),
    0,
  );

  // The SD card and its partitions (not excluded by default); ram, zram, loop are.
  assert.deepEqual(m.keysOf("node_disk_written_bytes_total"), [
    'node_disk_written_bytes_total{device="mmcblk0"}',
    'node_disk_written_bytes_total{device="mmcblk0p1"}',
    'node_disk_written_bytes_total{device="mmcblk0p2"}',
  ]);
  assert.equal(m.get('node_disk_written_bytes_total{device="mmcblk0"}'), 700000 * 512);

  // /proc/1 hidden: mounts come from /proc/self; a failing statfs is a device error.
  const boot = 'device="/dev/mmcblk0p1",fstype="vfat",mountpoint="/boot/firmware"';
  assert.equal(
    m.get(
      `node_filesystem_device_error{${
        boot.replace(",fstype", ',device_error="EACCES: permission denied, statfs",fstype')
      }}`,
    ),
    1,
  );
  assert.equal(m.get(`node_filesystem_size_bytes{${boot}}`), undefined);
  assert.equal(
    m.get('node_filesystem_avail_bytes{device="/dev/mmcblk0p2",fstype="ext4",mountpoint="/"}'),
    4096 * 4_600_000,
  );

  // Four CPUs; memory with CMA; machine from /proc/sys/kernel/arch.
  assert.equal(m.keysOf("node_cpu_seconds_total").length, 32);
  assert.equal(m.get("node_memory_CmaTotal_bytes"), 65536 * 1024);
  assert.ok(m.keysOf("node_uname_info")[0]!.includes('machine="aarch64"'));
  assert.ok(m.keysOf("node_uname_info")[0]!.includes('nodename="raspberrypi"'));

  // No PSI in this kernel: no pressure series, and the collector says so.
  assert.deepEqual([...m.names].filter((n) => n.startsWith("node_pressure_")), []);
  assert.equal(m.get('node_scrape_collector_success{collector="pressure"}'), 0);
  assert.equal(m.get('node_scrape_collector_success{collector="thermal_zone"}'), 1);
  assert.equal(m.get('node_scrape_collector_success{collector="hwmon"}'), 1);

  // cpufreq: the Pi's clock (kHz → Hz) and governor; cpuinfo_cur_freq needs root and is absent.
  assert.equal(m.get('node_cpu_scaling_frequency_hertz{cpu="2"}'), 1_000_000_000);
  assert.equal(m.get('node_cpu_frequency_max_hertz{cpu="0"}'), 1_500_000_000);
  assert.equal(m.get('node_cpu_frequency_hertz{cpu="0"}'), undefined);
  assert.equal(m.get('node_cpu_scaling_governor{cpu="3",governor="ondemand"}'), 1);
  assert.equal(m.get('node_cpu_scaling_governor{cpu="3",governor="performance"}'), 0);
  assert.equal(m.keysOf("node_cpu_scaling_governor").length, 24);

  // An old kernel's softnet_stat (3 columns): CPUs by line; no conntrack module; no ARP entries.
  assert.equal(m.get('node_softnet_processed_total{cpu="0"}'), 0xa1b2);
  assert.equal(m.get('node_softnet_times_squeezed_total{cpu="1"}'), 1);
  assert.equal(m.get('node_softnet_cpu_collision_total{cpu="1"}'), 0);
  assert.equal(m.get('node_scrape_collector_success{collector="conntrack"}'), 0);
  assert.equal(m.keysOf("node_arp_entries").length, 0);

  // Clock not synchronised (adjtimex returned TIME_ERROR).
  assert.equal(m.get("node_timex_sync_status"), 0);
});

Deno.test("HostCollector keeps CPU counters from stepping back a little, accepts a reset", async () => {
  const root = await Deno.makeTempDir({ prefix: "perch-host-" });
  try {
    await Deno.mkdir(`${root}/proc`);
    const stat = (idle: number) =>
      Deno.writeTextFile(`${root}/proc/stat`, `cpu0 100 0 100 ${idle} 50 0 0 0 0 0\nbtime 1\n`);
    const c = new HostCollector({ root, timex: null });
    const idle = async () =>
      parse(await c.collect()).get('node_cpu_seconds_total{cpu="0",mode="idle"}');
    await stat(100_000);
    assert.equal(await idle(), 1000);
    await stat(99_900); // 1 s back: tickless idle accounting, kept.
    assert.equal(await idle(), 1000);
    await stat(100_300);
    assert.equal(await idle(), 1003);
    await stat(200); // Far back: the CPU was re-onlined.
    assert.equal(await idle(), 2);
    // Missing sources fail only their own collector.
    const m = parse(await c.collect());
    assert.equal(m.get('node_scrape_collector_success{collector="meminfo"}'), 0);
    assert.equal(m.get('node_scrape_collector_success{collector="cpu"}'), 1);
    assert.equal(m.get('node_scrape_collector_success{collector="timex"}'), 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("HostCollector marks a mount whose statfs hangs as stuck until it answers", async () => {
  const root = `${DATA}rpi`;
  let release: (s: StatFs) => void = () => {};
  let hanging = true;
  const calls: string[] = [];
  const c = new HostCollector({
    root,
    timex: null,
    statfsTimeoutMs: 20,
    statfs: (p) => {
      const mp = p.slice(root.length);
      calls.push(mp);
      if (mp === "/boot/firmware" && hanging) return new Promise<StatFs>((r) => release = r);
      return Promise.resolve(DISK);
    },
  });
  const key =
    'node_filesystem_device_error{device="/dev/mmcblk0p1",device_error="mountpoint timeout",' +
    'fstype="vfat",mountpoint="/boot/firmware"}';
  let m = parse(await c.collect());
  assert.equal(m.get(key), 1);
  m = parse(await c.collect());
  assert.equal(m.get(key), 1);
  assert.equal(
    calls.filter((p) => p === "/boot/firmware").length,
    1,
    "a stuck mount is not asked again",
  );
  hanging = false;
  release(DISK);
  await new Promise((r) => setTimeout(r, 0));
  m = parse(await c.collect());
  assert.equal(m.get(key), undefined);
  assert.equal(
    m.get(
      'node_filesystem_size_bytes{device="/dev/mmcblk0p1",fstype="vfat",mountpoint="/boot/firmware"}',
    ),
    4096 * 1000,
  );
});

Deno.test("decodeTimex reads struct timex as laid out on 64-bit Linux", () => {
  const buf = new Uint8Array(256);
  const dv = new DataView(buf.buffer);
  dv.setBigInt64(8, -1234n, true); // offset
  dv.setBigInt64(24, 16_000_000n, true); // maxerror
  dv.setInt32(40, 0x2000 | 0x40, true); // status: STA_NANO | STA_UNSYNC
  dv.setBigInt64(88, 10_000n, true); // tick
  dv.setInt32(160, 37, true); // tai
  const t = decodeTimex(buf, 5);
  assert.equal(t.offset, -1234);
  assert.equal(t.maxerror, 16_000_000);
  assert.equal(t.status, 0x2040);
  assert.equal(t.tick, 10_000);
  assert.equal(t.tai, 37);
  assert.equal(t.state, 5);
});

Deno.test("timex offset is in nanoseconds when STA_NANO is set", async () => {
  const c = new HostCollector({
    root: `${DATA}rpi`,
    statfs: () => Promise.resolve(DISK),
    timex: () => timex(0, 0x2000),
  });
  const m = parse(await c.collect());
  assert.equal(m.get("node_timex_offset_seconds"), 1500 / 1e9);
  assert.equal(m.get("node_timex_status"), 0x2000);
});

Deno.test("hostJobs: job node named after the host at the self-scrape interval, none when off", () => {
  const collector = { collect: () => Promise.resolve("") };
  const on = { enabled: true, interval: 0, job: "node", instance: "", alerts: true };
  const [j] = hostJobs(on, 15_000, collector, () => "pi4");
  assert.equal(j!.job, "node");
  assert.equal(j!.instance, "pi4");
  assert.equal(j!.interval, 15_000);
  const [k] = hostJobs(
    { ...on, interval: 5_000, job: "host", instance: "gw:9100" },
    15_000,
    collector,
  );
  assert.deepEqual([k!.job, k!.instance, k!.interval], ["host", "gw:9100", 5_000]);
  assert.deepEqual(hostJobs({ ...on, enabled: false }, 15_000, collector), []);
});

Deno.test("statfs through libc matches node:fs, and a failing one names the reason", async () => {
  const libc = openLibc();
  assert.ok(libc, "FFI is available under deno test -A");
  const [ours, node] = await Promise.all([libcStatfs(libc, "/"), statfs("/")]);
  assert.equal(ours.bsize, node.bsize);
  assert.equal(ours.blocks, node.blocks);
  assert.equal(ours.files, node.files);
  // The real statfs on the Pi fixture: "/" is a directory of the fixture,
  // "/run" is not there, so it is a device error with node_exporter's wording.
  const m = parse(await new HostCollector({ root: `${DATA}rpi`, timex: null }).collect());
  assert.ok(
    (m.get('node_filesystem_size_bytes{device="/dev/mmcblk0p2",fstype="ext4",mountpoint="/"}') ??
      0) > 0,
  );
  assert.equal(
    m.get(
      'node_filesystem_device_error{device="tmpfs",device_error="no such file or directory",' +
        'fstype="tmpfs",mountpoint="/run"}',
    ),
    1,
  );
});

Deno.test("decodeStatfs reads struct statfs as laid out on 64-bit Linux", () => {
  const buf = new Uint8Array(120);
  const dv = new DataView(buf.buffer);
  [0xef53, 4096, 1000, 600, 550, 640, 600].forEach((v, i) =>
    dv.setBigUint64(i * 8, BigInt(v), true)
  );
  assert.deepEqual(decodeStatfs(buf), {
    bsize: 4096,
    blocks: 1000,
    bfree: 600,
    bavail: 550,
    files: 640,
    ffree: 600,
  });
});
