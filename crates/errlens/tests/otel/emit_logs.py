"""Emits log records describing API calls through the real OpenTelemetry Python SDK.

Used by crates/errlens/tests/serve_otlp.rs, with the virtual environment scripts/test
creates (target/otel-venv). Two modes:

  emit_logs.py emit --endpoint URL --encoding protobuf|json --compression none|gzip \
      --records RECORDS.json --jsonl OUT.jsonl [--batch N]

    A LoggerProvider with a BatchLogRecordProcessor and an OTLP/HTTP log exporter
    (opentelemetry-exporter-otlp-proto-http for protobuf, opentelemetry-exporter-otlp-json-http
    for JSON) sends the records of RECORDS.json (a JSON array of {"time_ns", "attributes",
    "body"}; a body is a string or an object, which becomes a kvlistValue) to URL. Every batch
    the exporter sends is also appended to OUT.jsonl as one OTLP/JSON line (the SDK's own
    JSON encoder), so the same records can be read by `errlens report`. Prints
    {"batches": N, "records": M} and exits 1 if any export failed.

  emit_logs.py probe --endpoint URL

    Sends requests with `requests` and decodes the answers with the official protobuf
    classes (opentelemetry-proto, googleapis-common-protos): one request of one API call
    and one application log line (a partial success), and one body that is not protobuf
    (a 400 with a google.rpc.Status). Prints what it decoded as JSON.
"""

import argparse
import json
import sys


def emit(args):
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        BatchLogRecordProcessor,
        LogRecordExporter,
        LogRecordExportResult,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.exporter.otlp.json.common._log_encoder import (
        encode_logs as encode_json,
    )

    if args.encoding == "protobuf":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter,
        )

        compression = {"none": Compression.NoCompression, "gzip": Compression.Gzip}
    else:
        from opentelemetry.exporter.otlp.common.http import Compression
        from opentelemetry.exporter.otlp.json.http._log_exporter import (
            OTLPLogExporter,
        )

        compression = {"none": Compression.NONE, "gzip": Compression.GZIP}
    otlp = OTLPLogExporter(
        endpoint=args.endpoint,
        compression=compression[args.compression],
        timeout=10,
    )

    class Tee(LogRecordExporter):
        """Writes each batch as an OTLP/JSON line, then exports it over OTLP/HTTP."""

        def __init__(self):
            self.batches = 0
            self.records = 0
            self.failures = 0

        def export(self, batch):
            line = json.dumps(
                json.loads(encode_json(batch).to_json()), separators=(",", ":")
            )
            with open(args.jsonl, "a", encoding="utf-8") as f:
                f.write(line + "\n")
            result = otlp.export(batch)
            self.batches += 1
            self.records += len(batch)
            if result != LogRecordExportResult.SUCCESS:
                self.failures += 1
            return result

        def shutdown(self):
            otlp.shutdown()

        def force_flush(self, timeout_millis=30000):
            return True

    tee = Tee()
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "errlens-otel-test"}),
        shutdown_on_exit=False,
    )
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            tee,
            schedule_delay_millis=50,
            max_export_batch_size=args.batch,
            max_queue_size=max(2048, args.batch),
        )
    )
    logger = provider.get_logger("errlens.test.api", "1.0")
    with open(args.records, encoding="utf-8") as f:
        records = json.load(f)
    for r in records:
        logger.emit(
            timestamp=r["time_ns"],
            observed_timestamp=r["time_ns"],
            body=r.get("body"),
            attributes=r["attributes"],
        )
    provider.force_flush()
    provider.shutdown()
    print(json.dumps({"batches": tee.batches, "records": tee.records}))
    if tee.failures or tee.records != len(records):
        print(f"{tee.failures} exports failed", file=sys.stderr)
        sys.exit(1)


def probe(args):
    import requests
    from google.rpc import status_pb2
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2

    def kv(key, **value):
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(**value))

    call = logs_pb2.LogRecord(
        time_unix_nano=1_767_225_600_000_000_000,
        attributes=[
            kv("http.request.method", string_value="GET"),
            kv("url.full", string_value="https://api.simkl.com/sync/activities"),
            kv("http.response.status_code", int_value=200),
        ],
    )
    app = logs_pb2.LogRecord(
        time_unix_nano=1_767_225_600_000_000_000,
        body=common_pb2.AnyValue(string_value="cache warmed"),
    )
    request = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                scope_logs=[logs_pb2.ScopeLogs(log_records=[call, app])]
            )
        ]
    )
    headers = {"Content-Type": "application/x-protobuf"}
    out = {}
    r = requests.post(
        args.endpoint, data=request.SerializeToString(), headers=headers, timeout=10
    )
    resp = logs_service_pb2.ExportLogsServiceResponse.FromString(r.content)
    out["partial"] = {
        "status": r.status_code,
        "content_type": r.headers.get("Content-Type"),
        "has_partial_success": resp.HasField("partial_success"),
        "rejected_log_records": resp.partial_success.rejected_log_records,
        "error_message": resp.partial_success.error_message,
    }
    r = requests.post(args.endpoint, data=b"\x0a\x10\x01", headers=headers, timeout=10)
    status = status_pb2.Status.FromString(r.content)
    out["bad"] = {
        "status": r.status_code,
        "content_type": r.headers.get("Content-Type"),
        "code": status.code,
        "message": status.message,
    }
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("emit")
    e.add_argument("--endpoint", required=True)
    e.add_argument("--encoding", choices=["protobuf", "json"], required=True)
    e.add_argument("--compression", choices=["none", "gzip"], default="none")
    e.add_argument("--records", required=True)
    e.add_argument("--jsonl", required=True)
    e.add_argument("--batch", type=int, default=16)
    pr = sub.add_parser("probe")
    pr.add_argument("--endpoint", required=True)
    args = p.parse_args()
    emit(args) if args.mode == "emit" else probe(args)


if __name__ == "__main__":
    main()
