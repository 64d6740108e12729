"""Secrets Manager rotation for generated secrets (signing keys, session keys, client keys).

Secrets Manager calls the handler four times per rotation, once per step, with the secret's
ARN and a ClientRequestToken that names the new version:

  createSecret  store a new random value as the AWSPENDING version (once per token)
  setSecret     nothing to do: the value lives only in Secrets Manager, services read it there
  testSecret    check that the pending value can be read back and is well formed
  finishSecret  move AWSCURRENT to the new version (the old one becomes AWSPREVIOUS)

Services must accept AWSPREVIOUS as well as AWSCURRENT until their caches refresh, so that a
rotation never breaks tokens or sessions signed a moment before it.
"""

import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SECRET_LENGTH = int(os.environ.get("SECRET_LENGTH", "48"))

client = boto3.client("secretsmanager")


def handler(event, _context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]

    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"rotation is not enabled for {arn}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"version {token} of {arn} is not being rotated")
    if "AWSCURRENT" in stages[token]:
        logger.info("version %s of %s is already AWSCURRENT", token, arn)
        return
    if "AWSPENDING" not in stages[token]:
        raise ValueError(f"version {token} of {arn} is not AWSPENDING")

    steps = {
        "createSecret": create_secret,
        "setSecret": set_secret,
        "testSecret": test_secret,
        "finishSecret": finish_secret,
    }
    if step not in steps:
        raise ValueError(f"unknown rotation step {step!r}")
    steps[step](arn, token, stages)


def create_secret(arn, token, _stages):
    try:
        client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: version %s of %s already exists", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    value = client.get_random_password(PasswordLength=SECRET_LENGTH, ExcludePunctuation=True)["RandomPassword"]
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps({"value": value}),
        VersionStages=["AWSPENDING"],
    )
    logger.info("createSecret: stored version %s of %s", token, arn)


def set_secret(arn, token, _stages):
    logger.info("setSecret: nothing to set for version %s of %s", token, arn)


def test_secret(arn, token, _stages):
    pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    value = json.loads(pending["SecretString"]).get("value", "")
    if len(value) != SECRET_LENGTH:
        raise ValueError(f"testSecret: version {token} of {arn} does not hold a {SECRET_LENGTH}-character value")
    logger.info("testSecret: version %s of %s is readable", token, arn)


def finish_secret(arn, token, stages):
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    if current == token:
        return
    args = {"SecretId": arn, "VersionStage": "AWSCURRENT", "MoveToVersionId": token}
    if current is not None:
        # The first rotation of a new secret has no AWSCURRENT version to move away from.
        args["RemoveFromVersionId"] = current
    client.update_secret_version_stage(**args)
    logger.info("finishSecret: version %s of %s is now AWSCURRENT", token, arn)
