#!/usr/bin/env python3
# tests/unit/crypto_kat.py - derive the stable known-answer vectors of
# tests/unit/test_crypto_kat.c with implementations independent of
# libsodium: Python's hashlib (BLAKE2 reference code), pyca/cryptography
# (ChaCha20-Poly1305 IETF, Ed25519) and a 15-line HChaCha20 written from
# draft-irtf-cfrg-xchacha-03, section 2.2. Run it to check or regenerate;
# every value it prints is pasted into the C test. These vectors pin
# janseva's formats: if one changes, stored data would no longer open.
#
#   crypto_kat.py                      print the vectors
#   crypto_kat.py --seeds tests/fuzz/corpus
#                                      (re)write the seed corpora of
#                                      fuzz_vault and fuzz_audit
import hashlib, json, os, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization


def rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)


def hchacha20(key, n16):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s += list(struct.unpack('<8I', key)) + list(struct.unpack('<4I', n16))
    for _ in range(10):
        qr(s, 0, 4, 8, 12); qr(s, 1, 5, 9, 13); qr(s, 2, 6, 10, 14); qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15); qr(s, 1, 6, 11, 12); qr(s, 2, 7, 8, 13); qr(s, 3, 4, 9, 14)
    return struct.pack('<8I', *(s[0:4] + s[12:16]))


def xchacha_seal(key, nonce, pt, ad):
    return ChaCha20Poly1305(hchacha20(key, nonce[:16])).encrypt(b'\0' * 4 + nonce[16:], pt, ad)


def kdf(root, ctx, subkey_id):
    # libsodium crypto_kdf_derive_from_key: BLAKE2b(key=root, salt=LE64(id), person=ctx)
    return hashlib.blake2b(b'', digest_size=32, key=root,
                           salt=struct.pack('<Q', subkey_id), person=ctx.encode()).digest()


ROOT = bytes(range(32))
SEED = bytes(range(32, 64))
h = lambda b: b.hex()
MID = b'0123456789abcdef0123456789abcdef'
CONTEXT = {1: 'js.pii.f', 2: 'js.ingrs', 3: 'js.tiprl'}


def vault_seal(purpose, version, record, field, pt, nonce):
    header = b'JV' + bytes([1, purpose]) + struct.pack('<I', version) + nonce
    padded = pt + b'\x80' + b'\0' * ((-(len(pt) + 1)) % 64)
    ad = header + record + b'\0' + field
    return header + xchacha_seal(kdf(ROOT, CONTEXT[purpose], version), nonce, padded, ad)


def audit_export():
    sk = Ed25519PrivateKey.from_private_bytes(SEED)
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    prev, recs, ckpts = b'\0' * 32, [], []
    for seq in range(1, 6):
        e = json.dumps({'seq': seq, 'ts': 1700000000000 + seq, 'actor': 'system',
                        'action': 'keys.init' if seq == 1 else 'service.start',
                        'object': 'keys', 'reason': '', 'prev': prev.hex()},
                       separators=(',', ':')).encode()
        prev = hashlib.blake2b(prev + struct.pack('>I', len(e)) + e, digest_size=32).digest()
        recs.append({'type': 'record', 'id': '1700000000000-%d' % seq, 'seq': seq,
                     'e': e.decode(), 'h': prev.hex()})
        if seq in (1, 5):
            ts = 1700000000100 + seq
            msg = ('janseva-audit-checkpoint-v1|%d|%d|%s' % (seq, ts, prev.hex())).encode()
            ckpts.append({'type': 'checkpoint', 'id': '1700000000100-%d' % seq, 'seq': seq,
                          'ts': ts, 'h': prev.hex(), 'sig': sk.sign(msg).hex(), 'kid': 'x'})
    head = {'type': 'janseva-audit-export', 'format': 1, 'public_key': pk.hex(),
            'key_id': 'x', 'exported_ms': 1700000000200}
    lines = [head] + ckpts + recs
    return ''.join(json.dumps(l, separators=(',', ':')) + '\n' for l in lines).encode()


if len(sys.argv) == 3 and sys.argv[1] == '--seeds':
    base = sys.argv[2]
    os.makedirs(os.path.join(base, 'vault'), exist_ok=True)
    os.makedirs(os.path.join(base, 'audit'), exist_ok=True)
    n = bytes(range(24))
    seeds = {
        'pii-wa-12': vault_seal(1, 1, MID, b'wa', b'919812345678', n),
        'pii-nm-v2': vault_seal(1, 2, MID, b'nm', 'सुनीता देवी'.encode(), n),
        'pii-empty': vault_seal(1, 1, MID, b'wa', b'', n),
        'pii-64': vault_seal(1, 1, MID, b'wa', b'x' * 64, n),
        'ingress-body': vault_seal(2, 1, MID, b'b', b'{"object":"whatsapp_business_account"}', n),
        'tip-v7': vault_seal(3, 7, MID, b'wa', b'IN.15702938471625384950', n),
        'bad-magic': b'XV' + vault_seal(1, 1, MID, b'wa', b'1', n)[2:],
        'truncated': vault_seal(1, 1, MID, b'wa', b'919812345678', n)[:100],
        'header-only': vault_seal(1, 1, MID, b'wa', b'1', n)[:32],
    }
    for name, data in seeds.items():
        with open(os.path.join(base, 'vault', name), 'wb') as f:
            f.write(data)
    good = audit_export()
    lines = good.split(b'\n')
    audit = {
        'export-ok.jsonl': good,
        'export-cut.jsonl': b'\n'.join(lines[:-2]) + b'\n',
        'export-swapped.jsonl': b'\n'.join(lines[:3] + [lines[4], lines[3]] + lines[5:]),
        'export-header-only.jsonl': lines[0] + b'\n',
        'not-json': b'hello\n',
    }
    for name, data in audit.items():
        with open(os.path.join(base, 'audit', name), 'wb') as f:
            f.write(data)
    sys.exit(0)

print('BLAKE2b-512 keyed, key 00..3f (official KAT input 00..n-1):')
for n in (0, 1, 64, 255):
    print(' ', n, h(hashlib.blake2b(bytes(range(n)), key=bytes(range(64))).digest()))
print('BLAKE2b-256 keyed, key 00..1f, "abc":', h(hashlib.blake2b(b'abc', digest_size=32, key=bytes(range(32))).digest()))

print('KDF subkeys of root 00..1f:')
for ctx, ids in (('js.pii.f', (1, 2)), ('js.ingrs', (1,)), ('js.tiprl', (1,)), ('js.bidx.', (0,)),
                 ('js.mid..', (0,)), ('js.dedup', (0,)), ('js.sessn', (0,)), ('js.audit', (0,))):
    for i in ids:
        print(' ', ctx, i, h(kdf(ROOT, ctx, i)))

kb = kdf(ROOT, 'js.bidx.', 0)
km = kdf(ROOT, 'js.mid..', 0)
b_wa = hashlib.blake2b(b'E164:919812345678', digest_size=32, key=kb).digest()
b_uid = hashlib.blake2b(b'BSUID:IN.15702938471625384950', digest_size=32, key=kb).digest()
print('bidx wa 919812345678:', h(b_wa))
print('bidx BSUID IN.15702938471625384950:', h(b_uid))
print('mid(bidx wa, 0):', h(hashlib.blake2b(b_wa + struct.pack('<I', 0), digest_size=16, key=km).digest()))
print('mid(bidx wa, 1):', h(hashlib.blake2b(b_wa + struct.pack('<I', 1), digest_size=16, key=km).digest()))

# A sealed field: PII v1, record "0123456789abcdef0123456789abcdef", field "wa".
nonce = bytes(range(24))
header = b'JV' + bytes([1, 1]) + struct.pack('<I', 1) + nonce
pt = b'919812345678'
padded = pt + b'\x80' + b'\0' * (64 - len(pt) - 1)
ad = header + b'0123456789abcdef0123456789abcdef' + b'\0' + b'wa'
print('vault sealed:', h(header + xchacha_seal(kdf(ROOT, 'js.pii.f', 1), nonce, padded, ad)))

# Audit: h_1 of an entry, and a checkpoint signature with seed 20..3f.
entry = b'{"seq":1,"ts":1700000000000,"actor":"system","action":"keys.init","object":"keys","reason":"","prev":"' + b'0' * 64 + b'"}'
h1 = hashlib.blake2b(b'\0' * 32 + struct.pack('>I', len(entry)) + entry, digest_size=32).digest()
print('audit entry:', entry.decode())
print('audit h1:', h(h1))
sk = Ed25519PrivateKey.from_private_bytes(SEED)
msg = ('janseva-audit-checkpoint-v1|1|1700000000000|' + h(h1)).encode()
print('audit public key:', h(sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)))
print('checkpoint signature:', h(sk.sign(msg)))
