package netnstest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	RegisterChild("netns-echo", echoChild)
	Main(m)
}

// echoChild first writes its network namespace's inode number as a line,
// then echoes every line it reads.
func echoChild(ctx context.Context, conn io.ReadWriteCloser) error {
	ino, err := netnsInode("/proc/self/ns/net")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "%d\n", ino); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := io.WriteString(conn, line); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// netnsInode returns the inode number that identifies the namespace at path.
func netnsInode(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return inodeOf(fi), nil
}
