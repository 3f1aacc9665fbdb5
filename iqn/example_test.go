package iqn_test

import (
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/iqn"
)

func ExampleParse() {
	n, err := iqn.Parse("iqn.2001-04.org.gentoo:iSCSI.test.disk1")
	if err != nil {
		fmt.Println(err)
		return
	}
	year, month := n.Date()
	fmt.Println(n)
	fmt.Println(n.Type(), year, month, n.NamingAuthority(), n.Domain(), n.Unique())

	eui, _ := iqn.Parse("eui.02004567A425678D")
	v, _ := eui.EUI64()
	fmt.Printf("%v %#016x\n", eui, v)
	// Output:
	// iqn.2001-04.org.gentoo:iscsi.test.disk1
	// iqn 2001 April org.gentoo gentoo.org iscsi.test.disk1
	// eui.02004567a425678d 0x02004567a425678d
}

// Errors say what was wrong and where, and errors.Is and errors.As tell
// them apart.
func ExampleParse_error() {
	_, err := iqn.Parse("iqn.2001-13.com.example")
	fmt.Println(err)
	var e *iqn.Error
	if errors.Is(err, iqn.ErrBadDate) && errors.As(err, &e) {
		fmt.Println("bad date at byte", e.Offset)
	}
	// Output:
	// iqn: invalid month "13" at offset 9 in "iqn.2001-13.com.example"
	// bad date at byte 9
}

func ExampleNormalize() {
	for _, s := range []string{
		"iqn.2001-04.com.example:Disk1",
		"IQN.2001-04.com.example:Straße",
		"iqn.2001-04.com.example:ｄｉｓｋ",
		"iqn.2001-04.com.example:disk 1",
	} {
		n, err := iqn.Normalize(s)
		fmt.Printf("%q %v\n", n, err)
	}
	// Output:
	// "iqn.2001-04.com.example:disk1" <nil>
	// "iqn.2001-04.com.example:strasse" <nil>
	// "iqn.2001-04.com.example:disk" <nil>
	// "" iqn: prohibited character U+0020 ' ' (ASCII space, RFC 3454 table C.1.1) at offset 28 in "iqn.2001-04.com.example:disk 1"
}

func ExampleNewIQN() {
	n, err := iqn.NewIQN(2001, 4, "com.example", "storage:diskarrays-sn-a8675309")
	fmt.Println(n, err)
	m, err := iqn.FromDomain(2001, 4, "example.com", "Storage:DiskArrays-SN-A8675309")
	fmt.Println(m, err, m.Equal(n))
	// Output:
	// iqn.2001-04.com.example:storage:diskarrays-sn-a8675309 <nil>
	// iqn.2001-04.com.example:storage:diskarrays-sn-a8675309 <nil> true
}

func ExampleNewNAA128() {
	n, err := iqn.NewNAA128(0x62004567BA64678D, 0x0123456789ABCDEF)
	fmt.Println(n, err, n.NAAField())
	_, err = iqn.NewNAA64(0x62004567BA64678D)
	fmt.Println(errors.Is(err, iqn.ErrBadNAA))
	// Output:
	// naa.62004567ba64678d0123456789abcdef <nil> 6
	// true
}

func ExampleIsCanonical() {
	fmt.Println(iqn.IsCanonical("iqn.2001-04.org.gentoo:iscsi.test.disk1"))
	fmt.Println(iqn.IsCanonical("iqn.2001-04.org.gentoo:iSCSI.test.disk1"))
	// Output:
	// true
	// false
}

func ExampleEqual() {
	a := iqn.MustParse("iqn.2001-04.org.gentoo:iSCSI.test.disk1")
	b := iqn.MustParse("IQN.2001-04.ORG.GENTOO:iscsi.test.disk1")
	fmt.Println(iqn.Equal(a, b), a == b)
	// Output:
	// true true
}
