#!/usr/bin/python3
"""driver.py plus PyKMIP 0.10's cryptographic operations, for crypto.test.ts.

Same JSON-lines protocol as driver.py (whose ops -- open, create, create_key_pair, get, activate,
destroy, close, ... -- are all available here); bytes travel as hex. Run with /usr/bin/python3 and a
private HOME.

Encrypt/Decrypt/Sign/Signature Verify/MAC go through ProxyKmipClient's own methods. PyKMIP 0.10's
ProxyKmipClient.encrypt()/decrypt() have no way to pass Authenticated Encryption Additional Data
or to see/send the Authenticated Encryption Tag, although its payload classes encode both at
KMIP 1.4; gcm_encrypt/gcm_decrypt therefore send PyKMIP's Encrypt/Decrypt payloads through the
client's own KMIPProxy (its message builder and TLS connection).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import driver  # noqa: E402 - after the path tweak
from kmip import enums  # noqa: E402
from kmip.core.enums import Operation  # noqa: E402
from kmip.core.messages import messages, payloads  # noqa: E402
from kmip.core.messages.contents import Operation as OperationItem  # noqa: E402


ENUM_PARAMS = {
    "block_cipher_mode": enums.BlockCipherMode,
    "padding_method": enums.PaddingMethod,
    "hashing_algorithm": enums.HashingAlgorithm,
    "key_role_type": enums.KeyRoleType,
    "digital_signature_algorithm": enums.DigitalSignatureAlgorithm,
    "cryptographic_algorithm": enums.CryptographicAlgorithm,
}


def params(a):
    """ProxyKmipClient's cryptographic_parameters dict from JSON (enum names, ints, bools)."""
    p = a.get("params")
    if p is None:
        return None
    return {k: (ENUM_PARAMS[k][v] if k in ENUM_PARAMS else v) for k, v in p.items()}


def unhex(a, key):
    return bytes.fromhex(a[key]) if a.get(key) is not None else None


def op_encrypt(a):
    data, iv = driver.client.encrypt(bytes.fromhex(a["data"]), uid=a["uid"], cryptographic_parameters=params(a),
                                     iv_counter_nonce=unhex(a, "iv"))
    return {"data": data, "iv": iv}


def op_decrypt(a):
    return driver.client.decrypt(bytes.fromhex(a["data"]), uid=a["uid"], cryptographic_parameters=params(a),
                                 iv_counter_nonce=unhex(a, "iv"))


def op_sign(a):
    return driver.client.sign(bytes.fromhex(a["data"]), uid=a["uid"], cryptographic_parameters=params(a))


def op_signature_verify(a):
    return driver.client.signature_verify(bytes.fromhex(a["data"]), bytes.fromhex(a["signature"]), uid=a["uid"],
                                          cryptographic_parameters=params(a))


def op_mac(a):
    uid, mac = driver.client.mac(bytes.fromhex(a["data"]), uid=a["uid"],
                                 algorithm=enums.CryptographicAlgorithm[a["algorithm"]])
    return {"uid": uid, "mac": mac}


def one(operation, payload):
    """One batch item through the client's KMIPProxy; the response payload, or KmipOperationFailure."""
    proxy = driver.client.proxy
    item = messages.RequestBatchItem(operation=OperationItem(operation), request_payload=payload)
    response = proxy._send_and_receive_message(proxy._build_request_message(None, [item]))
    result = response.batch_items[0]
    driver.failed(result)
    return result.response_payload


def crypto_parameters(a):
    p = params(a)
    return driver.client._build_cryptographic_parameters(p) if p is not None else None


def op_gcm_encrypt(a):
    r = one(Operation.ENCRYPT, payloads.EncryptRequestPayload(
        unique_identifier=a["uid"], cryptographic_parameters=crypto_parameters(a), data=bytes.fromhex(a["data"]),
        iv_counter_nonce=unhex(a, "iv"), auth_additional_data=unhex(a, "aad")))
    return {"data": r.data, "iv": r.iv_counter_nonce, "tag": r.auth_tag}


def op_gcm_decrypt(a):
    r = one(Operation.DECRYPT, payloads.DecryptRequestPayload(
        unique_identifier=a["uid"], cryptographic_parameters=crypto_parameters(a), data=bytes.fromhex(a["data"]),
        iv_counter_nonce=unhex(a, "iv"), auth_additional_data=unhex(a, "aad"), auth_tag=unhex(a, "tag")))
    return r.data


driver.OPS.update({name[3:]: fn for name, fn in list(globals().items()) if name.startswith("op_")})

if __name__ == "__main__":
    driver.main()
