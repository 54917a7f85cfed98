"""Expands template.yaml with the SAM translator (offline) and prints the CloudFormation JSON.

`sam validate --lint` lints the SAM template itself and never sees what the transform generates:
the functions' IAM roles and policies, the SQS event source mappings, the HTTP API's routes and
permissions, the Function URL. The test command lints this expansion with cfn-lint as well.

Usage: expand.py TEMPLATE > expanded.json
"""

import json
import sys

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

REGION = "eu-west-1"  # any commercial region: the expansion does not depend on it


class NoManagedPolicies:
    """The template names no AWS managed policy, so nothing needs looking up in IAM."""

    def load(self):
        return {}


def main():
    with open(sys.argv[1]) as handle:
        template = yaml_parse(handle.read())
    # What `sam deploy` does first: each function's local code becomes an uploaded artifact.
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://lobbybee-artifacts/{name}.zip"
    # An offline session: the translator only reads its region (no credentials, no calls).
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="offline", aws_secret_access_key="offline")
    translator = Translator(NoManagedPolicies().load(), Parser(), boto_session=session)
    expanded = translator.translate(template, parameter_values={})
    json.dump(expanded, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
