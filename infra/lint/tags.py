"""Checks that every resource of the expanded template that can carry tags carries
`lobbybee:tenant` (cost allocation per tenant), as CloudFormation's own resource schemas (bundled
with cfn-lint) say which types take `Tags`.

Usage: tags.py EXPANDED_JSON   (the output of expand.py; SAM-generated roles and stages included)

The exceptions are listed in UNTAGGABLE_HERE with their reason; a resource type that cannot be
tagged at all (routes, integrations, permissions, Function URLs, aliases) is not reported.
"""

import json
import sys

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

TAG = "lobbybee:tenant"
REGION = "us-east-1"

# Types CloudFormation could tag but the template cannot reach: SAM (aws-sam-translator 1.115)
# generates the SQS event source mappings and the schedule's EventBridge rule without tags and
# offers no property for them. Neither costs anything, so cost allocation loses nothing.
UNTAGGABLE_HERE = {"AWS::Lambda::EventSourceMapping", "AWS::Events::Rule"}


def tag_keys(resource):
    """The tag keys a resource declares, in any of CloudFormation's shapes."""
    properties = resource.get("Properties", {})
    tags = properties.get("Tags")
    keys = set()
    if isinstance(tags, list):
        keys |= {t.get("Key") for t in tags if isinstance(t, dict)}
    elif isinstance(tags, dict):
        keys |= set(tags)
    # An HTTP API created from an OpenAPI body takes its tags from the document.
    body = properties.get("Body")
    if isinstance(body, dict):
        keys |= {t.get("name") for t in body.get("tags", []) if "x-amazon-apigateway-tag-value" in t}
    return keys


def main():
    with open(sys.argv[1]) as handle:
        template = json.load(handle)
    checked, missing = 0, []
    for name, resource in sorted(template["Resources"].items()):
        kind = resource["Type"]
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind).schema
        if "Tags" not in schema.get("properties", {}) or kind in UNTAGGABLE_HERE:
            continue
        checked += 1
        if TAG not in tag_keys(resource):
            missing.append(f"{name} ({kind})")
    for line in missing:
        print(f"not tagged {TAG}: {line}")
    print(f"tags: {checked - len(missing)} of {checked} taggable resources carry {TAG}")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
