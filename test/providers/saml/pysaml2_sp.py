"""A second, independent SP for the SAML tests: Debian's python3-pysaml2 (xmlsec1 checks the
signatures). Reads one JSON job on stdin, prints one JSON answer.

  {"mode": "request", ...}  -> {"id", "url"}: an AuthnRequest over HTTP-Redirect
  {"mode": "response", "outstanding": id, "response": b64, ...} -> {"name_id", "attributes"}
"""
import json
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig


def client(job):
    config = SPConfig()
    config.load({
        "entityid": job["entity_id"],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "allow_unknown_attributes": True,
        "metadata": {"inline": [job["idp_metadata"]]},
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(job["acs"], BINDING_HTTP_POST)]},
                "want_assertions_signed": True,
                "want_response_signed": False,
                "authn_requests_signed": False,
                "allow_unsolicited": False,
            }
        },
    })
    return Saml2Client(config)


def main():
    job = json.load(sys.stdin)
    sp = client(job)
    if job["mode"] == "request":
        request_id, info = sp.prepare_for_authenticate(entityid=job["idp_entity_id"], binding=BINDING_HTTP_REDIRECT, relay_state="py-relay")
        url = dict(info["headers"])["Location"]
        print(json.dumps({"id": request_id, "url": url}))
        return
    outstanding = {job["outstanding"]: "/"}
    response = sp.parse_authn_request_response(job["response"], BINDING_HTTP_POST, outstanding)
    if response is None:
        raise SystemExit("no response")
    print(json.dumps({"name_id": response.name_id.text, "attributes": response.ava, "in_response_to": response.in_response_to}))


if __name__ == "__main__":
    main()
