"""Deploys template.yaml to MiniStack's CloudFormation engine (the SAM transform included) for the
smoke test, after a documented transformation that bridges what the emulator lacks.

Usage: deploy.py TEMPLATE BINARIES_DIR TENANT  (BINARIES_DIR holds one `<function>` executable
per crate of functions/, built for this machine). Prints the stack outputs as KEY=value lines.

The local variant is generated here from the real template on every run (never kept by hand):
  1. WebSocket: the stage auto-deploys as in template.yaml (MiniStack rejects an explicit
     AWS::ApiGatewayV2::Deployment, which the template no longer has).
  2. Functions: CodeUri points at a zip in the emulator's S3 (`bootstrap` built for this
     machine, so Architectures becomes x86_64 on x86 hosts); the cargo-lambda metadata goes.
  3. REST: SAM HttpApi events create an API without routes on MiniStack, so the REST function
     also gets a Function URL, which the smoke test calls.
  4. Management API: MiniStack serves @connections under
     http://127.0.0.1:4566/_aws/execute-api/{apiId}/{stage}, so WS_ENDPOINT points there.
  5. Alarms: MiniStack does not support metric-math alarms, so every alarm with `Metrics` is
     dropped (FunctionErrorsAlarm, FunctionThrottlesAlarm, WebhookErrorRateAlarm), and with it its
     entry in the dashboard's alarm widget; the other alarms and the dashboard stay.
  6. Endpoint: the functions get AWS_ENDPOINT_URL explicitly, so they call the emulator however
     it was started (a deployed Lambda on AWS has no such variable and calls AWS itself).
  7. Template: uploaded to the emulator's S3 and passed as TemplateURL, as `sam deploy` does,
     because it is over CloudFormation's 51,200-byte limit for an inline TemplateBody.
Once deployed, the outbound-sweeper is invoked with the event its schedule sends (the emulator
creates the schedule's rule but does not fire it), and must answer without error.
"""

import io
import json
import os
import platform
import re
import sys
import time
import zipfile

import boto3
import yaml

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into their long JSON form."""


def _tag(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                return {name: value.split(".", 1)}
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value} if name != "Ref" else {"Ref": value}
    return construct


for short, long in [("!Ref", "Ref"), ("!Sub", "Fn::Sub"), ("!GetAtt", "Fn::GetAtt"), ("!If", "Fn::If"),
                    ("!Not", "Fn::Not"), ("!Equals", "Fn::Equals"), ("!Join", "Fn::Join")]:
    CfnLoader.add_constructor(short, _tag(long))


def local_variant(template, bucket):
    resources = template["Resources"]
    math = [name for name, r in resources.items()
            if r["Type"] == "AWS::CloudWatch::Alarm" and "Metrics" in r["Properties"]]
    for name in math:
        resources.pop(name)
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            body = resource["Properties"]["DashboardBody"]["Fn::Sub"]
            for name in math:
                body = re.sub(r'\s*"\$\{%s\.Arn\}",?' % name, "", body)
            resource["Properties"]["DashboardBody"]["Fn::Sub"] = re.sub(r",(\s*\])", r"\1", body)
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    template["Globals"]["Function"]["Architectures"] = [arch]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    variables["WS_ENDPOINT"] = {"Fn::Sub": ENDPOINT + "/_aws/execute-api/${WebSocketApi}/${Stage}"}
    variables["AWS_ENDPOINT_URL"] = ENDPOINT
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource.pop("Metadata")["BuildProperties"]["Binary"]
        resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": f"{binary}.zip"}
    resources["RestApiFunction"]["Properties"]["FunctionUrlConfig"] = {"AuthType": "NONE"}
    template.setdefault("Outputs", {})["RestFunctionUrl"] = {"Value": {"Fn::GetAtt": ["RestApiFunctionUrl", "FunctionUrl"]}}
    template["Outputs"]["WebSocketApiId"] = {"Value": {"Ref": "WebSocketApi"}}
    return template


def main():
    template_path, binaries, tenant = sys.argv[1], sys.argv[2], sys.argv[3]
    template = yaml.load(open(template_path), Loader=CfnLoader)
    s3 = boto3.client("s3", endpoint_url=ENDPOINT)
    bucket = f"{tenant}-artifacts"
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for name in os.listdir(os.path.join(os.path.dirname(template_path), "functions")):
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            archive.writestr(info, open(os.path.join(binaries, name), "rb").read())
        s3.put_object(Bucket=bucket, Key=f"{name}.zip", Body=data.getvalue())
    # The tenant's secrets, as an operator creates them: SecureString parameters under the path
    # the functions read at start-up (docs/deploy.md, step 1).
    ssm = boto3.client("ssm", endpoint_url=ENDPOINT)
    for name, value in json.loads(os.environ["SMOKE_SECRET_JSON"]).items():
        ssm.put_parameter(Name=f"/lobbybee/{tenant}/{name}", Value=value, Type="SecureString", Overwrite=True)
    cfn = boto3.client("cloudformation", endpoint_url=ENDPOINT)
    stack = f"lobbybee-{tenant}"
    try:
        cfn.delete_stack(StackName=stack)
    except Exception:  # noqa: BLE001 - no previous stack
        pass
    # Like `sam deploy`, through S3: the template is over CloudFormation's 51,200-byte limit for
    # an inline TemplateBody (the limit for a TemplateURL is 1 MB).
    s3.put_object(Bucket=bucket, Key="template.json", Body=json.dumps(local_variant(template, bucket)).encode())
    cfn.create_stack(
        StackName=stack,
        TemplateURL=f"{ENDPOINT}/{bucket}/template.json",
        Parameters=[
            {"ParameterKey": "TenantName", "ParameterValue": tenant},
            {"ParameterKey": "Stage", "ParameterValue": "smoke"},
            {"ParameterKey": "AllowedOrigins", "ParameterValue": "https://dashboard.example"},
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.time() + 300
    while True:
        description = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        status = description["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED") or time.time() > deadline:
            break
        time.sleep(1)
    if status != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
        for event in events:
            if "FAILED" in event.get("ResourceStatus", ""):
                print(f"# {event['LogicalResourceId']}: {event.get('ResourceStatusReason')}", file=sys.stderr)
        sys.exit(f"stack {stack} ended in {status}")
    check_sweeper(cfn, stack, os.path.join(os.path.dirname(template_path), "tests/fixtures/eventbridge-scheduled.json"))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    check_operability(tenant, outputs)
    for key, value in outputs.items():
        print(f"{key}={value}")


def check_operability(tenant, outputs):
    """What the deployment gives an operator, as the emulator reports it (on stderr, counted by
    the test command): the tenant's dashboard, whose body is JSON once deployed; both API stages
    writing access logs to the tenant's access log groups; the log groups' retention; the tags."""
    results = []

    def check(name, ok):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'}  {name}", file=sys.stderr)

    dashboard = boto3.client("cloudwatch", endpoint_url=ENDPOINT).get_dashboard(DashboardName=f"lobbybee-{tenant}")
    widgets = json.loads(dashboard["DashboardBody"]).get("widgets", [])
    check(f"dashboard lobbybee-{tenant} deployed ({len(widgets)} widgets)", len(widgets) > 10)
    apis = boto3.client("apigatewayv2", endpoint_url=ENDPOINT)
    websocket = apis.get_stage(ApiId=outputs["WebSocketApiId"], StageName="smoke")
    rest_id = outputs["RestApiUrl"].split("//", 1)[1].split(".", 1)[0]
    rest = apis.get_stage(ApiId=rest_id, StageName="$default")
    for stage, group in [(websocket, "websocket"), (rest, "rest")]:
        destination = stage.get("AccessLogSettings", {}).get("DestinationArn", "")
        # (the log group's Arn attribute may end with ":*")
        check(f"{group} stage writes access logs to /lobbybee/{tenant}/access/{group} ({destination})",
              f":log-group:/lobbybee/{tenant}/access/{group}" in destination)
    groups = boto3.client("logs", endpoint_url=ENDPOINT).describe_log_groups(logGroupNamePrefix=f"/lobbybee/{tenant}/")
    check("every log group has a retention", all(g.get("retentionInDays") for g in groups["logGroups"]))
    check(f"stages tagged lobbybee:tenant={tenant}",
          all(s.get("Tags", {}).get("lobbybee:tenant") == tenant for s in (websocket, rest)))
    passed = sum(results)
    print(f"deployment: {passed} passed, {len(results) - passed} failed", file=sys.stderr)
    if passed != len(results):
        sys.exit("the deployment lacks what operators need")


def check_sweeper(cfn, stack, event_path):
    """Invokes the deployed outbound-sweeper with the event its schedule sends: it must start with
    its configuration and role, and sweep without error."""
    function = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="OutboundSweeperFunction")
    name = function["StackResourceDetail"]["PhysicalResourceId"]
    answer = boto3.client("lambda", endpoint_url=ENDPOINT).invoke(FunctionName=name, Payload=open(event_path, "rb").read())
    payload = answer["Payload"].read().decode()
    if answer.get("FunctionError"):
        sys.exit(f"outbound-sweeper failed: {payload}")
    print(f"# outbound-sweeper answered {payload}", file=sys.stderr)


if __name__ == "__main__":
    main()
