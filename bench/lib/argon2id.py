"""Argon2id hashes for Dovecot's passwd-file, through libsodium (the library
Dovecot itself verifies them with), with chosen cost parameters.

  python3 argon2id.py calibrate MEM_KIB MAX_T ROUNDS  -> JSON {t: median CPU ms of one verify}
  python3 argon2id.py hash MEM_KIB T < passwords      -> one hash per input line
"""
import ctypes
import ctypes.util
import json
import statistics
import sys
import time

ALG_ARGON2ID13 = 2


def load():
    for name in ('libsodium.so.23', ctypes.util.find_library('sodium')):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            if lib.sodium_init() < 0:
                raise OSError('sodium_init failed')
            return lib
        except OSError:
            continue
    sys.exit('libsodium not found: apt-get install -y libsodium23 (Dovecot\'s ARGON2ID needs it too)')


def hash_password(lib, password, mem_kib, t):
    out = ctypes.create_string_buffer(256)
    pw = password.encode()
    rc = lib.crypto_pwhash_str_alg(out, pw, ctypes.c_ulonglong(len(pw)), ctypes.c_ulonglong(t),
                                   ctypes.c_size_t(mem_kib * 1024), ctypes.c_int(ALG_ARGON2ID13))
    if rc != 0:
        sys.exit('crypto_pwhash_str_alg failed')
    return out.value


def verify_ms(lib, stored, password):
    pw = password.encode()
    # CPU time, not wall time: other work on a shared machine must not decide the cost.
    start = time.process_time()
    ok = lib.crypto_pwhash_str_verify(stored, pw, ctypes.c_ulonglong(len(pw))) == 0
    elapsed = (time.process_time() - start) * 1000
    if not ok:
        sys.exit('verify failed')
    return elapsed


def main():
    lib = load()
    mode = sys.argv[1]
    if mode == 'calibrate':
        mem_kib, max_t, rounds = (int(x) for x in sys.argv[2:5])
        result = {}
        for t in range(1, max_t + 1):
            stored = hash_password(lib, 'calibrate', mem_kib, t)
            result[t] = statistics.median(verify_ms(lib, stored, 'calibrate') for _ in range(rounds))
        print(json.dumps(result))
    elif mode == 'hash':
        mem_kib, t = int(sys.argv[2]), int(sys.argv[3])
        for line in sys.stdin:
            print(hash_password(lib, line.rstrip('\n'), mem_kib, t).decode())
    else:
        sys.exit(f'unknown mode {mode}')


main()
