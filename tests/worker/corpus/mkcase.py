"""Build conformance cases (environment + requests, no expectations) from a compact spec."""
import json, sys, uuid

def resp(body="", status=200, headers=None, rules=None, **kw):
    r = {"uuid": str(uuid.uuid4()), "body": body, "latency": 0, "statusCode": status, "label": "", "headers": headers or [],
         "bodyType": "INLINE", "filePath": "", "databucketID": "", "sendFileAsBody": False, "rules": rules or [],
         "rulesOperator": "OR", "disableTemplating": False, "fallbackTo404": False, "default": False, "crudKey": "id", "callbacks": []}
    r.update(kw); return r

def route(method, endpoint, *responses, type="http", **kw):
    rs = list(responses) or [resp()]
    if not any(r["default"] for r in rs): rs[0]["default"] = True
    r = {"uuid": str(uuid.uuid4()), "type": type, "documentation": "", "method": method, "endpoint": endpoint, "responses": rs,
         "responseMode": None, "streamingMode": None, "streamingInterval": 0}
    r.update(kw); return r

def env(routes, **kw):
    e = {"uuid": str(uuid.uuid4()), "lastMigration": 33, "name": "corpus", "endpointPrefix": "", "latency": 0, "port": 3000, "hostname": "",
         "folders": [], "routes": routes, "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes], "proxyMode": False,
         "proxyHost": "", "proxyRemovePrefix": False, "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "",
         "keyPath": "", "caPath": "", "passphrase": ""}, "cors": True, "headers": [{"key": "Content-Type", "value": "text/plain"}],
         "proxyReqHeaders": [], "proxyResHeaders": [], "data": [], "callbacks": []}
    e.update(kw); return e

def case(name, area, description, environment, requests):
    return {"name": name, "area": area, "description": description, "environment": environment, "requests": requests}

def req(path, method="GET", **kw):
    d = {"method": method, "path": path}; d.update(kw); return d

def write(c, folder):
    json.dump(c, open(f"{folder}/{c['name']}.json", "w"), indent=1)
