"""Parses Prometheus text exposition from stdin with the reference parser (prometheus_client), so
tests check that what RelaySync serves is valid for a real scraper.

Prints JSON: {"families": {name: type}, "samples": [[name, labels, value], ...]}; exits 1 with the
parser's message on invalid input.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = list(text_string_to_metric_families(sys.stdin.read()))
except Exception as e:  # the parser raises ValueError and friends on bad input
    print(f"invalid exposition: {e}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({
    "families": {f.name: f.type for f in families},
    "samples": [[s.name, s.labels, s.value] for f in families for s in f.samples],
}))
