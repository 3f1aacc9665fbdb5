module github.com/go-iscsi/iscsi

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/crc32 v1.3.0
	golang.org/x/sys v0.34.0
	golang.org/x/text v0.44.0
)
