package iqn

import "testing"

var benchName Name

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"canonical", "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309"},
		{"mixed-case", "iqn.2001-04.org.gentoo:iSCSI.test.disk1"},
		{"eui", "eui.02004567A425678D"},
		{"naa128", "naa.62004567ba64678d0123456789abcdef"},
		{"unicode", "iqn.2001-04.de.bu\u0308cher:Stra\u00dfe-\uff24\uff49\uff53\uff4b"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				benchName, err = Parse(bc.in)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
