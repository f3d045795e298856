package wiretap

// A generic TTLV walker: it decodes any frame whatever its content, so the report shows what was
// really on the wire (kmip-go's own decoder would hide fields it does not expect at a version).

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// TTLV item types (KMIP 1.x §9.1.1.2).
const (
	typeStructure   = 0x01
	typeInteger     = 0x02
	typeLongInteger = 0x03
	typeBigInteger  = 0x04
	typeEnumeration = 0x05
	typeBoolean     = 0x06
	typeTextString  = 0x07
	typeByteString  = 0x08
	typeDateTime    = 0x09
	typeInterval    = 0x0A
)

// Node is one decoded TTLV item.
type Node struct {
	Tag      int
	Type     byte
	Raw      []byte // the value bytes (unpadded); nil for structures
	Children []*Node
}

// Name is the tag's KMIP name (kmip-go's registry), or its hex value.
func (n *Node) Name() string { return ttlv.TagString(n.Tag) }

// Child returns the first direct child with this tag.
func (n *Node) Child(tag int) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// All returns every direct child with this tag.
func (n *Node) All(tag int) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// Uint32 is the value of an Integer, Enumeration or Interval.
func (n *Node) Uint32() (uint32, bool) {
	if n == nil || len(n.Raw) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(n.Raw), true
}

// Text is the value of a Text String.
func (n *Node) Text() string {
	if n == nil {
		return ""
	}
	return string(n.Raw)
}

// ParseFrame decodes one whole TTLV item (a message).
func ParseFrame(b []byte) (*Node, error) {
	n, rest, err := parseItem(b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after the message", len(rest))
	}
	return n, nil
}

func parseItem(b []byte) (*Node, []byte, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("truncated item header (%d bytes)", len(b))
	}
	tag := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	ty := b[3]
	length := int(binary.BigEndian.Uint32(b[4:8]))
	padded := length
	if ty != typeStructure && length%8 != 0 {
		padded += 8 - length%8
	}
	if len(b)-8 < padded {
		return nil, nil, fmt.Errorf("item %s: length %d exceeds the %d bytes left", ttlv.TagString(tag), padded, len(b)-8)
	}
	value := b[8 : 8+length]
	rest := b[8+padded:]
	n := &Node{Tag: tag, Type: ty}
	switch ty {
	case typeStructure:
		inner := value
		for len(inner) > 0 {
			c, r, err := parseItem(inner)
			if err != nil {
				return nil, nil, fmt.Errorf("in %s: %w", ttlv.TagString(tag), err)
			}
			n.Children = append(n.Children, c)
			inner = r
		}
	case typeInteger, typeEnumeration, typeInterval:
		if length != 4 {
			return nil, nil, fmt.Errorf("item %s: type 0x%02X with length %d (want 4)", ttlv.TagString(tag), ty, length)
		}
		n.Raw = value
	case typeLongInteger, typeBoolean, typeDateTime:
		if length != 8 {
			return nil, nil, fmt.Errorf("item %s: type 0x%02X with length %d (want 8)", ttlv.TagString(tag), ty, length)
		}
		n.Raw = value
	case typeBigInteger, typeTextString, typeByteString:
		n.Raw = value
	default:
		return nil, nil, fmt.Errorf("item %s: unknown type 0x%02X", ttlv.TagString(tag), ty)
	}
	return n, rest, nil
}

// enumNames renders the enumerations the report cares about by name.
var enumNames = map[int]func(uint32) string{
	kmip.TagOperation:                     func(v uint32) string { return ttlv.EnumStr(kmip.Operation(v)) },
	kmip.TagResultStatus:                  func(v uint32) string { return ttlv.EnumStr(kmip.ResultStatus(v)) },
	kmip.TagResultReason:                  func(v uint32) string { return ttlv.EnumStr(kmip.ResultReason(v)) },
	kmip.TagBlockCipherMode:               func(v uint32) string { return ttlv.EnumStr(kmip.BlockCipherMode(v)) },
	kmip.TagPaddingMethod:                 func(v uint32) string { return ttlv.EnumStr(kmip.PaddingMethod(v)) },
	kmip.TagHashingAlgorithm:              func(v uint32) string { return ttlv.EnumStr(kmip.HashingAlgorithm(v)) },
	kmip.TagMaskGeneratorHashingAlgorithm: func(v uint32) string { return ttlv.EnumStr(kmip.HashingAlgorithm(v)) },
	kmip.TagMaskGenerator:                 func(v uint32) string { return ttlv.EnumStr(kmip.MaskGenerator(v)) },
	kmip.TagCryptographicAlgorithm:        func(v uint32) string { return ttlv.EnumStr(kmip.CryptographicAlgorithm(v)) },
	kmip.TagObjectType:                    func(v uint32) string { return ttlv.EnumStr(kmip.ObjectType(v)) },
	kmip.TagKeyFormatType:                 func(v uint32) string { return ttlv.EnumStr(kmip.KeyFormatType(v)) },
	kmip.TagLinkType:                      func(v uint32) string { return ttlv.EnumStr(kmip.LinkType(v)) },
	kmip.TagNameType:                      func(v uint32) string { return ttlv.EnumStr(kmip.NameType(v)) },
	kmip.TagState:                         func(v uint32) string { return ttlv.EnumStr(kmip.State(v)) },
}

// Fields flattens a message into "Path/To/Item=value" lines, in wire order. Byte strings show
// their length only (and their hex when short, which covers IVs and tags), so key material does
// not end up in reports.
func Fields(root *Node) []string {
	var out []string
	var walk func(prefix string, n *Node)
	walk = func(prefix string, n *Node) {
		path := n.Name()
		if prefix != "" {
			path = prefix + "/" + path
		}
		if n.Type == typeStructure {
			out = append(out, path)
			attrName := ""
			if n.Tag == kmip.TagAttribute {
				attrName = n.Child(kmip.TagAttributeName).Text()
			}
			for _, c := range n.Children {
				if c.Tag == kmip.TagAttributeValue && c.Type != typeStructure {
					if f, ok := attributeValueNames[attrName]; ok {
						out = append(out, path+"/"+c.Name()+"="+f(c))
						continue
					}
				}
				walk(path, c)
			}
			return
		}
		out = append(out, path+"="+valueString(n))
	}
	walk("", root)
	return out
}

// attributeValueNames renders a 1.x Attribute Value by its Attribute Name.
var attributeValueNames = map[string]func(*Node) string{
	"Object Type":             func(n *Node) string { v, _ := n.Uint32(); return ttlv.EnumStr(kmip.ObjectType(v)) },
	"Cryptographic Algorithm": func(n *Node) string { v, _ := n.Uint32(); return ttlv.EnumStr(kmip.CryptographicAlgorithm(v)) },
	"State":                   func(n *Node) string { v, _ := n.Uint32(); return ttlv.EnumStr(kmip.State(v)) },
	"Cryptographic Usage Mask": func(n *Node) string {
		v, _ := n.Uint32()
		return fmt.Sprintf("0x%X(%s)", v, ttlv.BitmaskStr(kmip.CryptographicUsageMask(int32(v)), "|"))
	},
}

func valueString(n *Node) string {
	switch n.Type {
	case typeInteger:
		v, _ := n.Uint32()
		if n.Tag == kmip.TagCryptographicUsageMask {
			return fmt.Sprintf("0x%X(%s)", v, ttlv.BitmaskStr(kmip.CryptographicUsageMask(int32(v)), "|"))
		}
		return fmt.Sprintf("%d", int32(v))
	case typeEnumeration:
		v, _ := n.Uint32()
		if f, ok := enumNames[n.Tag]; ok {
			return f(v)
		}
		return fmt.Sprintf("0x%08X", v)
	case typeInterval:
		v, _ := n.Uint32()
		return fmt.Sprintf("%ds", v)
	case typeLongInteger:
		return fmt.Sprintf("%d", int64(binary.BigEndian.Uint64(n.Raw)))
	case typeBoolean:
		return fmt.Sprintf("%t", binary.BigEndian.Uint64(n.Raw) != 0)
	case typeDateTime:
		return time.Unix(int64(binary.BigEndian.Uint64(n.Raw)), 0).UTC().Format(time.RFC3339)
	case typeBigInteger:
		return fmt.Sprintf("bigint[%d bits]", new(big.Int).SetBytes(n.Raw).BitLen())
	case typeTextString:
		s := string(n.Raw)
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return fmt.Sprintf("%q", s)
	case typeByteString:
		if len(n.Raw) <= 16 {
			return fmt.Sprintf("bytes[%d]:%s", len(n.Raw), hex.EncodeToString(n.Raw))
		}
		return fmt.Sprintf("bytes[%d]", len(n.Raw))
	}
	return "?"
}

// version reads Header/ProtocolVersion as "major.minor".
func version(header *Node) string {
	pv := header.Child(kmip.TagProtocolVersion)
	maj, ok1 := pv.Child(kmip.TagProtocolVersionMajor).Uint32()
	min, ok2 := pv.Child(kmip.TagProtocolVersionMinor).Uint32()
	if !ok1 || !ok2 {
		return ""
	}
	return fmt.Sprintf("%d.%d", maj, min)
}

// Versions reads every Protocol Version directly under a payload (Discover Versions).
func Versions(payload *Node) []string {
	out := []string{}
	for _, pv := range payload.All(kmip.TagProtocolVersion) {
		maj, _ := pv.Child(kmip.TagProtocolVersionMajor).Uint32()
		min, _ := pv.Child(kmip.TagProtocolVersionMinor).Uint32()
		out = append(out, fmt.Sprintf("%d.%d", maj, min))
	}
	return out
}

func enumName(n *Node) string {
	v, ok := n.Uint32()
	if !ok {
		return ""
	}
	if f, ok := enumNames[n.Tag]; ok {
		return f(v)
	}
	return fmt.Sprintf("0x%08X", v)
}

// HasPath reports whether a field line starts with this path (exactly, or followed by "=").
func HasPath(fields []string, path string) bool {
	for _, f := range fields {
		if f == path || strings.HasPrefix(f, path+"=") {
			return true
		}
	}
	return false
}
