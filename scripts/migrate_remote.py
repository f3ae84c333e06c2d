"""`make migrate-remote`: invokes the deployed migrate function once and prints its report.

Once, whatever happens on the way: the call waits as long as the function may run (its timeout
plus a margin) and is never retried. The SDK's defaults (a 60 s read timeout and retries) would
invoke a second migration while the first is still running."""
import json
import sys

from tests.support.template import FUNCTIONS

#: The migrate function's timeout, in seconds (the table of functions).
TIMEOUT = next(f["timeout"] for f in FUNCTIONS if f["kind"] == "migrate")


def lambda_client(region=None):
    import boto3
    from botocore.config import Config

    config = Config(read_timeout=TIMEOUT + 60, connect_timeout=10, retries={"total_max_attempts": 1})
    return boto3.client("lambda", region_name=region, config=config)


def function_name(stack, region=None):
    import boto3

    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "MigrateFunctionName")


def main():
    stack = sys.argv[1] if len(sys.argv) > 1 else "cinema"
    region = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    answer = lambda_client(region).invoke(FunctionName=function_name(stack, region), Payload=b"{}")
    report = json.loads(answer["Payload"].read() or b"null")
    print(json.dumps(report, indent=2))
    if answer.get("FunctionError"):
        sys.exit(f"the migration failed: {answer['FunctionError']}")


if __name__ == "__main__":
    main()
