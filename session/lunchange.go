package session

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// luRef counts what holds one logical unit: the sessions whose LUN view
// contains it and the tasks addressed to it that have not ended. Once the
// logical unit has left the targets served (SetTargets) and nothing holds
// it, done is closed: Server.Released reports it.
type luRef struct {
	lu   LogicalUnit
	n    atomic.Int64
	reg  *luRegistry
	done chan struct{}
	// Guarded by reg.mu.
	retired, closed bool
}

// hold adds a holder. The caller already holds the logical unit through a
// view (a task), or holds reg.mu (a new view).
func (r *luRef) hold() { r.n.Add(1) }

// release drops a holder; the last one of a retired logical unit closes
// done.
func (r *luRef) release() {
	if r.n.Add(-1) != 0 {
		return
	}
	r.reg.mu.Lock()
	defer r.reg.mu.Unlock()
	r.reg.closeIfUnusedLocked(r)
}

// luRegistry is the luRef of every logical unit a session view or the
// current targets hold, by logical unit.
type luRegistry struct {
	mu   sync.Mutex
	refs map[LogicalUnit]*luRef
}

// refLocked returns the luRef of lu, making one if needed.
func (g *luRegistry) refLocked(lu LogicalUnit) *luRef {
	if g.refs == nil {
		g.refs = make(map[LogicalUnit]*luRef)
	}
	r := g.refs[lu]
	if r == nil {
		r = &luRef{lu: lu, reg: g, done: make(chan struct{})}
		g.refs[lu] = r
	}
	return r
}

// closeIfUnusedLocked closes r.done when r is retired and unheld.
func (g *luRegistry) closeIfUnusedLocked(r *luRef) {
	if r.retired && !r.closed && r.n.Load() == 0 {
		r.closed = true
		close(r.done)
		if g.refs[r.lu] == r {
			delete(g.refs, r.lu)
		}
	}
}

// lunView is the logical unit inventory one session reaches (SPC-4
// §6.33): its target's LUN map when the session logged in, or as the last
// SetTargets left it.
type lunView struct {
	luns   map[scsi.LUN]*luRef
	sorted []scsi.LUN
	// lus is the LUN map the view was made from, to compare with a new
	// configuration.
	lus map[scsi.LUN]LogicalUnit
}

// lowest returns the lowest LUN of the view, or LUN 0 if it is empty.
func (v *lunView) lowest() scsi.LUN {
	if v == nil || len(v.sorted) == 0 {
		return scsi.LUN{}
	}
	return v.sorted[0]
}

// lunState is a session's part in LUN changes: its view, swapped by
// SetTargets, and the unit attention REPORTED LUNS DATA HAS CHANGED
// pending for its I_T nexus.
type lunState struct {
	mu   sync.RWMutex // a task takes its hold under RLock; a swap under Lock
	view *lunView
	// name is the session's target name in normalized form (RFC 3722).
	name string
	// inventoryChanged is the pending REPORTED LUNS DATA HAS CHANGED
	// unit attention of the session's I_T nexus (SPC-4 §6.33, SAM-5
	// §5.14).
	inventoryChanged atomic.Bool
}

// newViewLocked makes a view of luns holding each of its logical units;
// the caller holds g.mu.
func (g *luRegistry) newViewLocked(luns map[scsi.LUN]LogicalUnit) *lunView {
	v := &lunView{luns: make(map[scsi.LUN]*luRef, len(luns)), lus: luns}
	for l, lu := range luns {
		r := g.refLocked(lu)
		r.hold()
		v.luns[l] = r
		v.sorted = append(v.sorted, l)
	}
	slices.SortFunc(v.sorted, func(a, b scsi.LUN) int {
		switch x, y := a.Uint64(), b.Uint64(); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return v
}

// releaseView drops the holds of v.
func releaseView(v *lunView) {
	if v == nil {
		return
	}
	for _, r := range v.luns {
		r.release()
	}
}

// normalizedName returns name in the normalized form of RFC 3722, or name
// itself when it does not parse.
func normalizedName(name string) string {
	if n, err := iqn.Parse(name); err == nil {
		return n.String()
	}
	return name
}

// initLUNs gives a normal session the view of its target in the targets
// served now; a target removed since the session was admitted gives an
// empty view.
func (s *session) initLUNs() {
	if s.target == nil {
		return
	}
	g := &s.srv.lunReg
	g.mu.Lock()
	var luns map[scsi.LUN]LogicalUnit
	if t := s.srv.target(s.targetName); t != nil {
		luns = t.LUNs
	}
	v := g.newViewLocked(luns)
	g.mu.Unlock()
	s.inv.mu.Lock()
	s.inv.view = v
	s.inv.name = normalizedName(s.targetName)
	s.inv.mu.Unlock()
}

// endLUNs drops the session's view once the session has ended; it returns
// the logical units the view held, for ITNexusLoss.
func (s *session) endLUNs() []LogicalUnit {
	s.inv.mu.Lock()
	v := s.inv.view
	s.inv.view = nil
	s.inv.mu.Unlock()
	if v == nil {
		return nil
	}
	out := make([]LogicalUnit, 0, len(v.luns))
	for _, r := range v.luns {
		out = append(out, r.lu)
	}
	releaseView(v)
	return out
}

// currentView returns the session's view.
func (s *session) currentView() *lunView {
	s.inv.mu.RLock()
	defer s.inv.mu.RUnlock()
	return s.inv.view
}

// holdLU returns the logical unit at lun for a new task, and the hold the
// task keeps on it until it ends (task.dropLU).
func (s *session) holdLU(lun uint64) (LogicalUnit, *luRef) {
	s.inv.mu.RLock()
	defer s.inv.mu.RUnlock()
	if s.inv.view == nil {
		return nil, nil
	}
	r := s.inv.view.luns[scsi.LUNFromUint64(lun)]
	if r == nil {
		return nil, nil
	}
	r.hold()
	return r.lu, r
}

// dropLU ends the task's hold on its logical unit. The goroutine that
// owns the task calls it, under conn.mu once the task is in the
// connection's task map.
func (t *task) dropLU() {
	if r := t.ref; r != nil {
		t.ref = nil
		r.release()
	}
}

// dropCollecting ends the holds of the tasks of a closed connection
// that never ran: they were still waiting for Data-Out.
func (c *conn) dropCollecting() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tasks {
		if t.state == taskCollecting {
			t.dropLU()
		}
	}
}

// reportInventoryChange reports the pending REPORTED LUNS DATA HAS CHANGED
// unit attention of the task's I_T nexus, once (SAM-5 §5.14): INQUIRY
// runs without reporting it, REQUEST SENSE returns it as its sense data
// with GOOD status (SPC-4 §6.39), any other command ends with CHECK
// CONDITION and it. REPORT LUNS clears it (reportLUNs). It reports
// whether the task is answered.
func (t *task) reportInventoryChange() bool {
	st := &t.c.sess.inv
	if !st.inventoryChanged.Load() {
		return false
	}
	ua := scsi.NewSense(scsi.SenseUnitAttention, scsi.ASCReportedLUNsDataHasChanged)
	switch scsi.OpCode(t.cdb[0]) {
	case scsi.OpInquiry:
		return false
	case scsi.OpRequestSense:
		c, err := scsi.ParseRequestSense(t.cdb)
		if err != nil || !st.inventoryChanged.CompareAndSwap(true, false) {
			return false
		}
		t.putDataIn(ua.Append(nil, c.Desc), int(c.AllocationLength))
		return true
	}
	if !st.inventoryChanged.CompareAndSwap(true, false) {
		return false
	}
	t.checkCondition(ua)
	return true
}

// updateLUNs stores a new set of targets and applies it to the sessions
// logged in: each normal session whose target set still holds
// its target gets that target's LUN map as its view. When the map changed
// (a LUN added or removed, or served by another logical unit) the I_T
// nexus gets the unit attention REPORTED LUNS DATA HAS CHANGED on its next
// command (SPC-4 §6.33, SAM-5 §5.14) and, at once, an Asynchronous
// Message with AsyncEvent 0 carrying that sense data (RFC 7143 §11.9.1).
// Tasks already addressed to a removed logical unit complete on it; later
// commands to its LUN get LOGICAL UNIT NOT SUPPORTED (SPC-4 §4.2.1).
// Logical units the new set no longer serves are retired: Released tells
// when the last session or task using one is gone. Sessions of a target
// the new set no longer holds keep their view until they end.
func (s *Server) updateLUNs(set *targetSet) {
	g := &s.lunReg
	type change struct {
		sess *session
		old  *lunView
	}
	var changed []change
	// The set is stored under g.mu, which initLUNs holds while it reads
	// it: a session logging in meanwhile either gets its view from the
	// new set or is in the table read below.
	g.mu.Lock()
	s.targets.Store(set)
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		if sess.target != nil {
			sessions = append(sessions, sess)
		}
	}
	s.mu.Unlock()
	served := make(map[LogicalUnit]bool)
	for _, t := range set.list {
		for _, lu := range t.LUNs {
			served[lu] = true
		}
	}
	for lu, r := range g.refs {
		r.retired = !served[lu]
	}
	for _, sess := range sessions {
		sess.inv.mu.RLock()
		cur, name := sess.inv.view, sess.inv.name
		sess.inv.mu.RUnlock()
		t := set.byName[name]
		if cur == nil || t == nil || sameLUNs(cur.lus, t.LUNs) {
			continue
		}
		v := g.newViewLocked(t.LUNs)
		sess.inv.mu.Lock()
		if sess.inv.view != cur {
			// The session ended meanwhile (endLUNs).
			sess.inv.mu.Unlock()
			releaseView(v)
			continue
		}
		sess.inv.view = v
		sess.inv.inventoryChanged.Store(true)
		sess.inv.mu.Unlock()
		changed = append(changed, change{sess, cur})
	}
	for _, r := range g.refs {
		g.closeIfUnusedLocked(r)
	}
	g.mu.Unlock()

	ua := scsi.NewSense(scsi.SenseUnitAttention, scsi.ASCReportedLUNsDataHasChanged).Append(nil, false)
	for _, ch := range changed {
		releaseView(ch.old)
		lun := ch.sess.currentView().lowest()
		s.log.Info("logical unit inventory changed", "tsih", ch.sess.tsih, "target", ch.sess.targetName)
		for _, c := range s.fullFeatureConns(func(x *session) bool { return x == ch.sess }) {
			c.sendAsync(context.Background(), pdu.AsyncSCSIEvent, 0, 0, 0, lun, ua, nil)
		}
	}
}

// sameLUNs reports whether a and b map the same LUNs to the same logical
// units.
func sameLUNs(a, b map[scsi.LUN]LogicalUnit) bool {
	if len(a) != len(b) {
		return false
	}
	for l, lu := range a {
		if other, ok := b[l]; !ok || other != lu {
			return false
		}
	}
	return true
}

// Released returns a channel closed once lu is no longer in use: the
// targets served (Targets, or the last SetTargets) do not contain it, no
// session reaches it through its LUN view and no task addressed to it is
// left. A logical unit removed by SetTargets is released once the tasks
// already sent to it have ended and the sessions of a target that
// SetTargets removed have ended; call it after SetTargets to learn when
// the logical unit's backend may be closed. For a logical unit the Server
// never served the channel is closed already.
func (s *Server) Released(lu LogicalUnit) <-chan struct{} {
	g := &s.lunReg
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.refs[lu]; r != nil {
		return r.done
	}
	if set := s.targets.Load(); set != nil {
		for _, t := range set.list {
			for _, x := range t.LUNs {
				if x == lu {
					return g.refLocked(lu).done
				}
			}
		}
	}
	done := make(chan struct{})
	close(done)
	return done
}
