"""Secrets Manager in the local emulator (moto), as the functions read it: a client with the
emulator's test credentials, the database secret in the format RDS writes, and the two secrets
a function needs (the app secret holding the JWT signing key, and the database secret)."""
import json
import secrets
import time

REGION = "us-east-1"


def client(endpoint, service="secretsmanager"):
    """A boto3 client of the emulator at `endpoint` (any service moto serves)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def database_secret(dbname, host="127.0.0.1", port=5432, username="postgres",
                    password="trust-auth-ignores-this"):
    """A database secret as RDS writes it for a cluster's master user."""
    return {"engine": "postgres", "username": username, "password": password, "host": host,
            "port": int(port), "dbname": dbname}


def create(sm, name, value):
    """Stores `value` (JSON) as a new secret named after `name`; returns its ARN."""
    return sm.create_secret(Name=f"{name}-{time.time_ns()}", SecretString=json.dumps(value))["ARN"]


def app_and_database(endpoint, name, database, extra=None):
    """A new app secret (a fresh 64-character signing key, and `extra` keys such as the payment
    provider's) and the database secret `database`: (app secret ARN, database secret ARN,
    signing key)."""
    sm = client(endpoint)
    key = secrets.token_urlsafe(48)
    app = {"jwt_secret": key, **(extra or {})}
    return create(sm, f"{name}-app", app), create(sm, f"{name}-db", database), key
