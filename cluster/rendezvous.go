package cluster

import "hash/fnv"

// weight is the rendezvous (highest random weight) score of member for key.
func weight(member, key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(member))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	// splitmix64 finalizer: FNV's low-entropy output for similar inputs is
	// mixed so that scores of different members are independent.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Owner returns which of members owns key (a host name, "" for master-level
// notifications) by rendezvous hashing: the member with the highest
// weight(member, key), ties broken by name. Every master computes the same
// answer from the same member set, and when a member leaves only its keys
// move. Owner returns "" when members is empty.
func Owner(key string, members []string) string {
	var best string
	var bestW uint64
	for _, m := range members {
		w := weight(m, key)
		if best == "" || w > bestW || (w == bestW && m > best) {
			best, bestW = m, w
		}
	}
	return best
}
