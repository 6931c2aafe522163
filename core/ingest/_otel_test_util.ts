/**
 * Test support: the OpenTelemetry JS SDK set up as the OTLP tests use it,
 * a pump in a plant recording a counter, an up-down counter, a gauge and a
 * histogram, exported once by hand.
 *
 * @module
 */
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
  type ViewOptions,
} from "@opentelemetry/sdk-metrics";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { decodeOtlpJson, decodeOtlpProto, type OtlpRequest } from "./otlp_decode.ts";

/** A meter provider exporting to `exporter` only when flushed by hand. */
export function sdkProvider(
  exporter: PushMetricExporter,
  resource: Record<string, string>,
  views: ViewOptions[] = [],
): { mp: MeterProvider; reader: PeriodicExportingMetricReader } {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const mp = new MeterProvider({
    resource: resourceFromAttributes(resource),
    readers: [reader],
    views,
  });
  return { mp, reader };
}

/**
 * The plant's provider: `service.name` `service` in namespace `plant`,
 * instance `pi-7` on host `gw1` (and `extra` resource attributes), with
 * `valve.latency` in buckets 0.1, 0.5 and 1.
 */
export function plantProvider(
  exporter: PushMetricExporter,
  service: string,
  extra: Record<string, string> = {},
): { mp: MeterProvider; reader: PeriodicExportingMetricReader } {
  return sdkProvider(exporter, {
    "service.name": service,
    "service.namespace": "plant",
    "service.instance.id": "pi-7",
    "host.name": "gw1",
    ...extra,
  }, [{
    instrumentName: "valve.latency",
    aggregation: {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries: [0.1, 0.5, 1] },
    },
  }]);
}

/**
 * Records the pump: 5 valve actuations, queue depth 3, water at 21.5 °C and
 * valve latencies 0.05, 0.2, 0.3, 0.7 and 2 s.
 */
export function recordPump(mp: MeterProvider): void {
  const meter = mp.getMeter("pump-scope", "1.2.3");
  meter.createCounter("valve.actuations", { unit: "{actuation}", description: "Actuations" })
    .add(5, { "valve.id": "v1" });
  meter.createUpDownCounter("queue.depth", { unit: "1" }).add(3);
  meter.createGauge("water.temperature", { unit: "Cel" }).record(21.5, { sensor: "s1" });
  const h = meter.createHistogram("valve.latency", { unit: "s" });
  for (const v of [0.05, 0.2, 0.3, 0.7, 2]) h.record(v, { "valve.id": "v1" });
}

/** An SDK export serialized as OTLP protobuf and as OTLP JSON, each decoded. */
export function decodeBoth(rm: ResourceMetrics): { proto: OtlpRequest; json: OtlpRequest } {
  return {
    proto: decodeOtlpProto(ProtobufMetricsSerializer.serializeRequest(rm)!),
    json: decodeOtlpJson(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm)!)),
  };
}
