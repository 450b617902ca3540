package service

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// stopWait bounds how long Stop and Delete wait for the service to stop.
const stopWait = 45 * time.Second

// realSCM is the Service Control Manager of this machine.
type realSCM struct{}

// NewSCM returns this machine's Service Control Manager.
func NewSCM() SCM { return realSCM{} }

func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connecting to the Service Control Manager (run as Administrator): %w", err)
	}
	return m, nil
}

func (realSCM) Exists(name string) (bool, error) {
	m, err := connect()
	if err != nil {
		return false, err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.Close()
	return true, nil
}

func (realSCM) Create(ws WindowsService) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	start := uint32(mgr.StartManual)
	if ws.AutoStart {
		start = mgr.StartAutomatic
	}
	s, err := m.CreateService(ws.Name, ws.BinaryPath, mgr.Config{
		DisplayName:      ws.DisplayName,
		Description:      ws.Description,
		StartType:        start,
		DelayedAutoStart: ws.AutoStart,
		ServiceType:      windows.SERVICE_WIN32_OWN_PROCESS,
		ErrorControl:     mgr.ErrorNormal,
	}, ws.Args...)
	if err != nil {
		return err
	}
	defer s.Close()
	var actions []mgr.RecoveryAction
	for _, d := range ws.RestartDelays {
		actions = append(actions, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d})
	}
	if err := s.SetRecoveryActions(actions, uint32(ws.ResetPeriod/time.Second)); err != nil {
		_ = s.Delete()
		return err
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(ws.FailureOnNonCrash); err != nil {
		_ = s.Delete()
		return err
	}
	return nil
}

func open(name string) (*mgr.Mgr, *mgr.Service, error) {
	m, err := connect()
	if err != nil {
		return nil, nil, err
	}
	s, err := m.OpenService(name)
	if err != nil {
		m.Disconnect()
		return nil, nil, err
	}
	return m, s, nil
}

func (realSCM) Delete(name string) error {
	m, s, err := open(name)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	if err := stop(s); err != nil {
		return err
	}
	return s.Delete()
}

func (realSCM) Start(name string) error {
	m, s, err := open(name)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	return s.Start()
}

func (realSCM) Stop(name string) error {
	m, s, err := open(name)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	return stop(s)
}

// stop asks s to stop, unless it is stopped, and waits until it is.
func stop(s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return err
	}
	if st.State == svc.Stopped {
		return nil
	}
	if _, err := s.Control(svc.Stop); err != nil {
		return err
	}
	deadline := time.Now().Add(stopWait)
	for st.State != svc.Stopped {
		if time.Now().After(deadline) {
			return fmt.Errorf("the service did not stop within %s", stopWait)
		}
		time.Sleep(300 * time.Millisecond) // the SCM has no wait call; poll its state
		if st, err = s.Query(); err != nil {
			return err
		}
	}
	return nil
}

func (realSCM) Query(name string) (string, error) {
	m, s, err := open(name)
	if err != nil {
		return "", err
	}
	defer m.Disconnect()
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return "", err
	}
	return stateName(st.State), nil
}

func stateName(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "starting"
	case svc.StopPending:
		return "stopping"
	case svc.Running:
		return "running"
	case svc.ContinuePending:
		return "continuing"
	case svc.PausePending:
		return "pausing"
	case svc.Paused:
		return "paused"
	}
	return fmt.Sprintf("state %d", s)
}
