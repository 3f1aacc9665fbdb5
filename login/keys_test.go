package login

import "testing"

func TestKeyTable(t *testing.T) {
	for _, k := range Keys() {
		if !ValidKeyName(k.Name) {
			t.Errorf("%s: invalid name", k.Name)
		}
		if k.Default != "" {
			if err := k.checkValue(k.Default); err != nil && k.Kind != KindList {
				t.Errorf("%s: default %q invalid: %v", k.Name, k.Default, err)
			}
		}
		if k.Scope == 0 || k.Use == 0 || k.Sender == 0 || k.Result == 0 || k.Kind == 0 || k.Section == "" {
			t.Errorf("%s: incomplete row %+v", k.Name, k)
		}
	}
	if _, ok := LookupKey("MaxBurstLength"); !ok {
		t.Error("MaxBurstLength missing")
	}
	if _, ok := LookupKey("CHAP_A"); ok {
		t.Error("CHAP_A in the table")
	}
}

func TestKeyPredicates(t *testing.T) {
	for _, k := range []string{"CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R"} {
		if !IsCHAPKey(k) {
			t.Errorf("%s not a CHAP key", k)
		}
	}
	if IsCHAPKey("CHAP_X") || !IsPrivateKey("X-com.example.a") || !IsPrivateKey("X#NodeArchitecture") || IsPrivateKey("XKey") {
		t.Error("predicates")
	}
}
