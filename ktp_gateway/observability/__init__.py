"""What an operator sees of the gateway: logs, metrics, their reference page, certificate expiry.

`logs` is the structlog chain with its allow-list redaction; `metrics` the Prometheus series in
one `ktp_gateway_` namespace; `metrics_doc` writes docs/metrics.md from the collectors;
`certificates` reports when the configured TLS certificates expire. No population data here.
"""
