package processing

import (
	"crypto/sha1"
	"encoding/hex"
)

// GeneratedLocationName is the metadata.name Backstage gives the Location entity of a registered
// location, so refs to it stay stable across restarts and implementations.
func GeneratedLocationName(locType, target string) string {
	sum := sha1.Sum([]byte(locType + ":" + target))
	return "generated-" + hex.EncodeToString(sum[:])
}
