package client

// DropConnection closes the Stream's connection as a network failure
// would, for tests of reconnecting.
func DropConnection(s *Stream) {
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.CloseNow()
	}
}
