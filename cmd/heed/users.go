package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/heed-dev/heed/internal/auth"
)

// user handles "heed user create NAME": the first administrator of a fresh
// install, with no demo data and no API yet to call.
func user(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) < 2 || args[0] != "create" || strings.HasPrefix(args[1], "-") {
		return usageError{"usage: heed user create NAME [--staff] [--support] [--email ADDRESS] [--full-name NAME]\n" +
			"the password is read from the terminal, or from the first line of standard input"}
	}
	name := args[1]
	fs := flag.NewFlagSet("heed user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c                     common
		staff, support        bool
		email, fullName, pass string
	)
	c.register(fs)
	fs.BoolVar(&staff, "staff", false, "make the user staff (an administrator: sees and may change everything)")
	fs.BoolVar(&support, "support", false, "make the user support (sees everything, changes nothing)")
	fs.StringVar(&email, "email", "", "the user's email address")
	fs.StringVar(&fullName, "full-name", "", "the user's full name")
	if err := parse(fs, args[2:], getenv); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	pass, err = readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	d, err := openExisting(ctx, &c)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := &auth.Service{DB: d}
	in := auth.UserInput{Username: &name, Password: &pass, IsStaff: &staff, IsSupport: &support}
	if email != "" {
		in.Email = &email
	}
	if fullName != "" {
		in.FullName = &fullName
	}
	u, err := svc.CreateUser(ctx, nil, in)
	if err != nil {
		return err
	}
	log.Info("user created", "user", u.Username, "uuid", u.UUID, "staff", u.IsStaff, "support", u.IsSupport)
	fmt.Fprintf(stdout, "created %s; sign in at /console/\n", u.Username)
	return nil
}

// readPassword asks twice on a terminal (echo off) and otherwise reads one
// line, so scripts can pipe it in.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Password (again): ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return nonEmpty(string(p1))
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return nonEmpty(strings.TrimRight(line, "\r\n"))
}

func nonEmpty(p string) (string, error) {
	if p == "" {
		return "", errors.New("no password given: type one at the prompt or pipe it on standard input")
	}
	return p, nil
}
