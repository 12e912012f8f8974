"""OTLP/gRPC receiver: the TraceService's Export method, on grpcio.

The request arrives as raw bytes and is decoded here, so a malformed message is answered with
INVALID_ARGUMENT and a message saying what was wrong (not grpcio's generic INTERNAL); a missing or wrong
bearer token with UNAUTHENTICATED; a message over the size limit is refused by grpcio with
RESOURCE_EXHAUSTED; a server whose booking is behind with UNAVAILABLE (retryable). gzip is grpcio's own.
"""

from __future__ import annotations

from concurrent import futures
from typing import TYPE_CHECKING, Any, Callable

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from ._decode import DecodeError, decode_protobuf

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["GrpcReceiver"]

_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


class GrpcReceiver:
    def __init__(
        self,
        host: str,
        port: int,
        accept: Callable[[ExportTraceServiceRequest], int | None],
        *,
        max_request_bytes: int,
        token: str | None,
        workers: int = 4,
    ) -> None:
        self._accept = accept
        self._token = token
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agentyield-grpc"),
            options=[("grpc.max_receive_message_length", max_request_bytes), ("grpc.so_reuseport", 0)],
        )
        handler = grpc.unary_unary_rpc_method_handler(
            self._export, request_deserializer=None, response_serializer=ExportTraceServiceResponse.SerializeToString
        )
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, {"Export": handler}),))
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen for OTLP/gRPC on {address}")

    def _export(self, body: bytes, context: Any) -> ExportTraceServiceResponse:
        if self._token is not None:
            metadata = dict(context.invocation_metadata())
            if metadata.get("authorization") != f"Bearer {self._token}":
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token (authorization: Bearer ...)")
        try:
            request = decode_protobuf(body)
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        response = ExportTraceServiceResponse()
        rejected = self._accept(request)
        if rejected is None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "busy: traces wait to be booked; retry later")
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = "spans without a trace id or span id"
        return response

    def start(self) -> None:
        self._server.start()

    def shutdown(self, grace_s: float = 5.0) -> None:
        """Stop accepting; calls in progress get `grace_s` to finish."""
        self._server.stop(grace_s).wait()
