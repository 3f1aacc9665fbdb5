package kernelinit_test

import (
	"context"
	"fmt"

	"github.com/go-iscsi/iscsi/internal/kernelinit"
)

// A test builds the guest once and boots it against a target that listens
// on 127.0.0.1:3260; the guest sees that portal as 10.0.2.2:3260.
func ExampleBoot() {
	ctx := context.Background()
	img, err := kernelinit.Build(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := kernelinit.Boot(ctx, img, kernelinit.Options{
		Port:   3260,
		Target: "iqn.2026-11.org.example.go-iscsi:disk0",
		Ext4:   true,
		Seed:   "example",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Pass, r.Summary)
}
