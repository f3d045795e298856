#!/usr/bin/python3
"""PyKMIP 0.10 client driven over JSON lines (stdin -> stdout), for pykmip.test.ts.

Each request is {"id": n, "op": name, "args": {...}}; each answer is {"id": n, "ok": true,
"result": ...} or {"id": n, "ok": false, "error": {"type", "status", "reason", "message"}}.
Bytes travel as hex. Run with /usr/bin/python3 (Debian's python3-pykmip) and a private HOME.
"""
import enum
import json
import sys
import traceback

from kmip import enums
from kmip.core import primitives
from kmip.core.attributes import Name
from kmip.core.factories.attributes import AttributeFactory
from kmip.pie import exceptions, objects
from kmip.pie.client import ProxyKmipClient

client = None
attrs = AttributeFactory()


def jsonable(v):
    if isinstance(v, enum.Enum):
        return v.name
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, Name):
        return {"name_value": v.name_value.value, "name_type": v.name_type.value.name}
    if isinstance(v, primitives.Base) and not isinstance(v, primitives.Struct) and hasattr(v, "value"):
        return jsonable(v.value)
    return {"repr": str(v)}


def masks(names):
    return [enums.CryptographicUsageMask[n] for n in names or []]


def op_open(a):
    """A fresh connection (closing any previous one): one per test, in a long-lived process."""
    global client
    if client is not None:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - the old connection may be broken already
            pass
        client = None
    version = enums.KMIPVersion[a["version"]] if a.get("version") else None  # None: PyKMIP's default, 1.2
    client = ProxyKmipClient(config_file=a["config_file"], kmip_version=version)
    client.open()
    return None


def op_create(a):
    return client.create(enums.CryptographicAlgorithm[a["algorithm"]], a["length"], name=a.get("name"),
                         cryptographic_usage_mask=masks(a.get("masks", ["ENCRYPT", "DECRYPT"])))


def op_create_key_pair(a):
    pub, priv = client.create_key_pair(
        enums.CryptographicAlgorithm[a["algorithm"]], a["length"],
        public_name=a.get("public_name"), public_usage_mask=masks(a.get("public_masks", ["VERIFY"])),
        private_name=a.get("private_name"), private_usage_mask=masks(a.get("private_masks", ["SIGN"])))
    return [pub, priv]


def build_object(a):
    t = a["type"]
    value = bytes.fromhex(a["value"])
    m = masks(a.get("masks"))
    if t == "SymmetricKey":
        o = objects.SymmetricKey(enums.CryptographicAlgorithm[a["algorithm"]], a["length"], value, masks=m)
    elif t == "PublicKey":
        o = objects.PublicKey(enums.CryptographicAlgorithm[a["algorithm"]], a["length"], value,
                              enums.KeyFormatType[a["format"]], masks=m)
    elif t == "PrivateKey":
        o = objects.PrivateKey(enums.CryptographicAlgorithm[a["algorithm"]], a["length"], value,
                               enums.KeyFormatType[a["format"]], masks=m)
    elif t == "SecretData":
        o = objects.SecretData(value, enums.SecretDataType[a["data_type"]], masks=m)
    elif t == "X509Certificate":
        o = objects.X509Certificate(value, masks=m)
    elif t == "OpaqueObject":
        o = objects.OpaqueObject(value, enums.OpaqueDataType[a["opaque_type"]])
    elif t == "SplitKey":
        o = objects.SplitKey(
            cryptographic_algorithm=enums.CryptographicAlgorithm[a["algorithm"]], cryptographic_length=a["length"],
            key_value=value, cryptographic_usage_masks=m, split_key_parts=a["parts"],
            key_part_identifier=a["part"], split_key_threshold=a["threshold"],
            split_key_method=enums.SplitKeyMethod[a["method"]])
    else:
        raise ValueError("unknown object type " + t)
    if a.get("name"):
        o.names = [a["name"]]
    return o


def op_register(a):
    return client.register(build_object(a))


def op_get(a):
    o = client.get(a["uid"])
    out = {"class": type(o).__name__, "object_type": jsonable(o.object_type), "value": jsonable(o.value)}
    for field in ("cryptographic_algorithm", "cryptographic_length", "key_format_type", "data_type", "opaque_type",
                  "certificate_type", "split_key_parts", "key_part_identifier", "split_key_threshold",
                  "split_key_method"):
        if hasattr(o, field):
            out[field] = jsonable(getattr(o, field))
    return out


def op_get_attributes(a):
    uid, attributes = client.get_attributes(a["uid"], a.get("names"))
    out = []
    for at in attributes:
        idx = at.attribute_index.value if at.attribute_index is not None else None
        out.append({"name": at.attribute_name.value, "index": idx, "value": jsonable(at.attribute_value)})
    return {"uid": uid, "attributes": out}


def op_get_attribute_list(a):
    return client.get_attribute_list(a["uid"])


def op_locate(a):
    criteria = []
    if "name" in a:
        criteria.append(attrs.create_attribute(enums.AttributeType.NAME, a["name"]))
    if "object_type" in a:
        criteria.append(attrs.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType[a["object_type"]]))
    if "state" in a:
        criteria.append(attrs.create_attribute(enums.AttributeType.STATE, enums.State[a["state"]]))
    return client.locate(maximum_items=a.get("maximum_items"), attributes=criteria or None)


def op_activate(a):
    return client.activate(a["uid"])


def op_revoke(a):
    return client.revoke(enums.RevocationReasonCode[a.get("reason", "CESSATION_OF_OPERATION")], a["uid"],
                         revocation_message=a.get("message"))


def op_destroy(a):
    return client.destroy(a["uid"])


def failed(result):
    if result.result_status.value != enums.ResultStatus.SUCCESS:
        reason = result.result_reason.value if result.result_reason else None
        message = result.result_message.value if result.result_message else None
        raise exceptions.KmipOperationFailure(result.result_status.value, reason, message)


def op_query(a):
    r = client.proxy.query(query_functions=[enums.QueryFunction[f] for f in a["functions"]])
    failed(r)
    return {
        "operations": [jsonable(o) for o in (r.operations or [])],
        "object_types": [jsonable(o) for o in (r.object_types or [])],
        "vendor_identification": jsonable(r.vendor_identification),
        "server_information": jsonable(r.server_information) if r.server_information is not None else None,
    }


def op_discover_versions(a):
    from kmip.core.messages.contents import ProtocolVersion
    offer = [ProtocolVersion(major, minor) for major, minor in a.get("versions", [])]
    r = client.proxy.discover_versions(protocol_versions=offer or None)
    failed(r)
    return [[v.major, v.minor] for v in (r.protocol_versions or [])]


def op_close(a):
    global client
    if client is not None:
        c, client = client, None
        c.close()
    return None


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith("op_")}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            result = OPS[req["op"]](req.get("args") or {})
            answer = {"id": req["id"], "ok": True, "result": jsonable(result)}
        except exceptions.KmipOperationFailure as e:
            answer = {"id": req["id"], "ok": False, "error": {
                "type": "KmipOperationFailure", "status": jsonable(e.status), "reason": jsonable(e.reason),
                "message": jsonable(e.message)}}
        except Exception as e:  # noqa: BLE001 - everything goes back to the test
            answer = {"id": req["id"], "ok": False, "error": {
                "type": type(e).__name__, "status": None, "reason": None, "message": str(e),
                "trace": traceback.format_exc(limit=4)}}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
