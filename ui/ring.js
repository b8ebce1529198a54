// Which jcm-server instance health-checks a cluster: the same consistent-hash
// ring as healthcheck/hash_ring.cc, so the dashboard can name every
// cluster's checker from the one instance it talks to. Each member (its
// advertised address, as /sys/status health.ringMembers lists them) gets 160
// points at XXH64("<member>#<i>", seed 0); a cluster belongs to the first
// point at or after XXH64(name), wrapping around; equal points are ordered by
// member. XXH64 is exact (64-bit BigInt arithmetic), as the server's is.

const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const VIRTUAL_NODES = 160;

const rotl = (x, r) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc, input) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc, val) => (((acc ^ round(0n, val)) * P1) + P4) & M;

function read64(b, i) {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]);
  return v;
}
function read32(b, i) {
  return BigInt((b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0);
}

const encoder = new TextEncoder();

// XXH64 of the UTF-8 bytes of `text`, as a BigInt.
export function xxh64(text, seed = 0n) {
  const b = encoder.encode(text);
  const len = b.length;
  let i = 0;
  let h;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M;
    let v2 = (seed + P2) & M;
    let v3 = seed;
    let v4 = (seed - P1) & M;
    for (; i + 32 <= len; i += 32) {
      v1 = round(v1, read64(b, i));
      v2 = round(v2, read64(b, i + 8));
      v3 = round(v3, read64(b, i + 16));
      v4 = round(v4, read64(b, i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  for (; i + 8 <= len; i += 8) {
    h ^= round(0n, read64(b, i));
    h = (rotl(h, 27n) * P1 + P4) & M;
  }
  if (i + 4 <= len) {
    h ^= (read32(b, i) * P1) & M;
    h = (rotl(h, 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < len; i++) {
    h ^= (BigInt(b[i]) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

// Code-unit order, as std::string compares (ASCII addresses).
const byString = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export class HashRing {
  constructor(members) {
    this.members = Array.from(new Set(members)).sort(byString);
    this.points = [];
    this.members.forEach((m, idx) => {
      for (let i = 0; i < VIRTUAL_NODES; i++) this.points.push([xxh64(`${m}#${i}`), idx]);
    });
    this.points.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    this.owners = new Map(); // name -> owner, memoised
  }

  // The member that checks `name`; "" when the ring is empty.
  ownerOf(name) {
    if (!this.points.length) return "";
    let owner = this.owners.get(name);
    if (owner !== undefined) return owner;
    const h = xxh64(name);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid][0] < h) lo = mid + 1;
      else hi = mid;
    }
    owner = this.members[this.points[lo === this.points.length ? 0 : lo][1]];
    this.owners.set(name, owner);
    return owner;
  }
}

let cached = null;
// The ring for a member list, rebuilt only when the list changes.
export function ringFor(members) {
  const key = JSON.stringify([...(members || [])].sort(byString));
  if (!cached || cached.key !== key) cached = { key, ring: new HashRing(members || []) };
  return cached.ring;
}

// Owner of each cluster as the serving instance sees it: its own
// health.checking list is authoritative for itself (it is what it actually
// checks, even mid-handover); the ring names the others.
export function ownerResolver(status) {
  const health = status && status.health;
  if (!health || !Array.isArray(health.ringMembers)) return () => "";
  const ring = ringFor(health.ringMembers);
  const self = health.ownerId || status.self;
  const mine = new Set(health.checking || []);
  return (name) => (mine.has(name) ? self : ring.ownerOf(name));
}
