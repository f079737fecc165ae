"""Sends the sample events to EventBridge (PutEvents), one at a time and in order, as
CloudTrail would: the rule of template.yaml routes them to the FIFO queue."""
import json
import sys

import boto3

events = boto3.client("events")
for path in sys.argv[1:]:
    with open(path) as f:
        event = json.load(f)
    out = events.put_events(Entries=[{
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources", []),
    }])
    if out.get("FailedEntryCount"):
        sys.exit(f"PutEvents refused {path}: {out['Entries']}")
print(f"put {len(sys.argv) - 1} events on the default event bus", file=sys.stderr)
