"""CloudWatch over Smithy RPC v2 CBOR for the moto server.

The aws provider's SDK (aws-sdk-go-v2 service/cloudwatch >= 1.4x) speaks only the `rpc-v2-cbor`
protocol to CloudWatch: POST /service/GraniteServiceVersion20100801/operation/<Op> with a CBOR body.
moto 5.2.5 implements CloudWatch over the `json` and `query` protocols only and answers 404, so every
alarm and dashboard fails to apply. This WSGI wrapper translates: CBOR request -> moto's JSON protocol
(same operation, same parameters) -> moto's JSON answer parsed with the operation's output shape ->
CBOR answer with the `smithy-protocol: rpc-v2-cbor` header. Encoding and decoding are botocore's
own shape-aware CBOR code; nothing about what CloudWatch answers is invented here.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

PREFIX = "/service/GraniteServiceVersion20100801/operation/"
TARGET = "GraniteServiceVersion20100801"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(value).decode()
    return value


def wrap(app: Any) -> Any:
    from botocore import parsers, serialize
    from botocore.session import get_session

    model = get_session().get_service_model("cloudwatch")
    decoder = parsers.RpcV2CBORParser()
    json_parser = parsers.JSONParser()

    def cbor_map(value: dict[str, Any]) -> bytes:
        """A plain string->string map (error bodies), without a shape."""
        ser = serialize.RpcV2CBORSerializer()
        out = bytearray()
        out += ser._get_initial_byte(ser.MAP_MAJOR_TYPE, len(value)) if len(value) < 24 else b""
        for k, v in value.items():
            for s in (k, str(v)):
                raw = s.encode()
                info, n = ser._get_additional_info_and_num_bytes(len(raw))
                out += ser._get_initial_byte(ser.STRING_MAJOR_TYPE, info)
                if n:
                    out += len(raw).to_bytes(n, "big")
                out += raw
        return bytes(out)

    def call(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        op_name = path[len(PREFIX) :]
        op = model.operation_model(op_name)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        params = decoder.parse_data_item(io.BytesIO(raw)) if raw else {}
        body = json.dumps(_jsonable(params)).encode()
        inner = dict(environ)
        inner.update(
            {
                "PATH_INFO": "/",
                "CONTENT_TYPE": "application/x-amz-json-1.0",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_X_AMZ_TARGET": f"{TARGET}.{op_name}",
                "wsgi.input": io.BytesIO(body),
            }
        )
        captured: dict[str, Any] = {}

        def inner_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        answer = b"".join(app(inner, inner_start))
        status = captured["status"]
        code = int(status.split()[0])
        if code >= 300:
            try:
                err = json.loads(answer or b"{}")
            except ValueError:
                err = {"__type": "InternalFailure", "message": answer.decode(errors="replace")[:500]}
            payload = cbor_map(
                {
                    "__type": err.get("__type", "InternalFailure"),
                    "message": err.get("message", err.get("Message", "")),
                }
            )
        elif op.output_shape is None:
            payload = b"\xa0"  # empty map
        else:
            parsed = json_parser.parse(
                {"body": answer or b"{}", "headers": {}, "status_code": 200}, op.output_shape
            )
            parsed.pop("ResponseMetadata", None)
            out = bytearray()
            serialize.RpcV2CBORSerializer()._serialize_data_item(out, parsed, op.output_shape)
            payload = bytes(out)
        start_response(
            status,
            [
                ("Content-Type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("Content-Length", str(len(payload))),
                ("x-amzn-RequestId", "cbor-shim"),
            ],
        )
        return [payload]

    return call
