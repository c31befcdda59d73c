#!/usr/bin/perl -w
# nx-qemu-vm's guest agent: runs the host's commands for nx-qemu-vm/testing.
#
# Stage 2 starts it on the virtio port org.nx-qemu-vm.agent when the host
# added that port (the test API does). Perl because perl-base is Essential in
# Debian: every guest has it, and its core has fork, pipes and select, which a
# shell lacks. The console never carries a command's output, so kernel
# messages cannot mix into it.
#
# The channel carries frames: a type byte, a command id and a payload length
# (both unsigned 32-bit, big-endian), then the payload.
#   host -> guest   P ping: answered with H
#                   X exec: payload = flags byte (1: stdin is piped; 2: bash, not sh) + command
#                   I stdin bytes for a command; an empty payload closes its stdin
#                   K signal number (decimal) for a command's process group
#                   Y system calls the agent makes itself (see system_calls): answered
#                     with O (a line per call: 0, or the errno it failed with), then S
#   guest -> host   H hello: "nx-qemu-vm-agent <version> <boot id>"
#                   O stdout bytes, E stderr bytes
#                   S status: "exit N" or "signal N", after all of the command's output;
#                     "refused WHY" when the command could not be started as asked
#                   D the guest is going down (poweroff or reboot)
# Commands run concurrently, each in a process group of its own. A command's status
# is sent once it exits and the output it wrote is forwarded; what background
# processes it left write later is read and dropped, so they neither block
# nor die of a closed pipe, and they cannot hold the status back.
#
# `agent.pl --stdio` speaks on stdin and stdout instead: the host's unit tests run it so.
#
# It loads no module but strict: under TCG, POSIX, Fcntl and warnings.pm took
# 0.35 s of the half second this agent needed to start, which every test
# machine waits for. Warnings come from -w; the few constants are Linux's.
use strict;

# fcntl(2), waitpid(2) and errno(3), as Linux defines them on every architecture we run.
# (Constant subroutines rather than constant.pm, which loads warnings.pm.)
sub F_GETFL () { 3 }
sub F_SETFL () { 4 }
sub F_SETFD () { 2 }
sub O_NONBLOCK () { 0x800 }
sub WNOHANG () { 1 }
# errno(3): %! would load Errno.pm and Exporter.pm.
sub EINTR () { 4 }
sub EAGAIN () { 11 }
sub retry_later () { $! == EAGAIN || $! == EINTR }
# A command gets a process group of its own (setpgrp, Perl's setpgid(2)) so
# that a signal reaches everything it started. Not a session of its own:
# the agent has no controlling terminal to part from (stage 2 and systemd
# start it on /dev/null), and setsid(1) would be one more exec per command,
# 6 to 11 ms of a round trip under TCG.
# The shells a command runs in: sh, or bash in strict mode as NixOS's test
# driver runs its commands. The command reaches the shell in its environment
# (or, in a spare shell, through a pipe: below), never in its arguments, and
# the shell drops it before running it: no process's command line holds the
# command's text, so `pgrep -f TEXT` cannot find the agent's own shell, and
# the command's children do not inherit it.
my $RUN_COMMAND = 'eval "unset NXVM_COMMAND; $NXVM_COMMAND"';
my @SH = ('/bin/sh', '-c', $RUN_COMMAND);
my @BASH = ('/bin/bash', '-c', "set -euo pipefail; $RUN_COMMAND");

my $VERSION = 3;
my $CHUNK = 65536;
my $MAX_FRAME = 16 * 1024 * 1024;

my ($in, $out);
my $stdio = @ARGV == 1 && $ARGV[0] eq '--stdio';
if ($stdio) {
  open($in, '<&=', 0) or die "agent: stdin: $!\n";
  open($out, '>&=', 1) or die "agent: stdout: $!\n";
} elsif (@ARGV == 1) {
  open(my $port, '+<', $ARGV[0]) or die "agent: cannot open $ARGV[0]: $!\n";
  ($in, $out) = ($port, $port);
} else {
  die "usage: agent.pl PORT | --stdio\n";
}
binmode($in);
binmode($out);

sub nonblocking {
  my ($fh) = @_;
  my $flags = fcntl($fh, F_GETFL, 0) or die "agent: fcntl: $!\n";
  fcntl($fh, F_SETFL, $flags | O_NONBLOCK) or die "agent: fcntl: $!\n";
}

# SIGCHLD wakes the select loop through a pipe to itself.
pipe(my $wake_r, my $wake_w) or die "agent: pipe: $!\n";
nonblocking($wake_r);
nonblocking($wake_w);
$SIG{CHLD} = sub { syswrite($wake_w, 'c') };
$SIG{PIPE} = 'IGNORE';
my $going_down = 0;
$SIG{TERM} = $SIG{HUP} = sub { $going_down = 1; syswrite($wake_w, 't') };

sub send_frame {
  my ($type, $id, $payload) = @_;
  my $frame = pack('a1 N N', $type, $id, length $payload) . $payload;
  while (length $frame) {
    my $n = syswrite($out, $frame);
    if (!defined $n) {
      next if retry_later;
      exit 0;    # the host is gone
    }
    substr($frame, 0, $n) = '';
  }
}

my $boot_id = '-';
if (open(my $fh, '<', '/proc/sys/kernel/random/boot_id')) {
  $boot_id = <$fh> // '-';
  chomp $boot_id;
  close $fh;
}
sub hello { send_frame('H', 0, "nx-qemu-vm-agent $VERSION $boot_id") }

# Running commands by id: pid, out/err read ends, stdin write end and its queue.
my %commands;
my %by_pid;
# Read ends left open by commands that finished: drained and dropped.
my %leftover;

# Starts a process in a process group of its own with its stdout and stderr on
# pipes, and its stdin on a pipe ($o->{stdin}) or /dev/null. $o->{command}
# goes in its environment; $o->{keep} is a pipe's read end it keeps across
# exec. Returns the process, or why it could not start.
sub start_process {
  my ($o) = @_;
  my ($in_r, $in_w);
  if ($o->{stdin}) { pipe($in_r, $in_w) or return "pipe: $!" }
  pipe(my $out_r, my $out_w) or return "pipe: $!";
  pipe(my $err_r, my $err_w) or return "pipe: $!";
  my $pid = fork();
  return "fork: $!" unless defined $pid;
  if ($pid == 0) {
    $SIG{$_} = 'DEFAULT' for qw(PIPE CHLD TERM HUP);
    # exit, not _exit, is safe in this child: the agent writes with syswrite
    # only, so no buffer of the parent's is flushed twice, and it has no END.
    if ($in_r) { open(STDIN, '<&', $in_r) or exit(126) }
    else { open(STDIN, '<', '/dev/null') or exit(126) }
    open(STDOUT, '>&', $out_w) or exit(126);
    open(STDERR, '>&', $err_w) or exit(126);
    chdir('/root') or chdir('/');
    # Perl marks every other descriptor close-on-exec: the command inherits none of ours.
    if ($o->{keep}) { fcntl($o->{keep}, F_SETFD, 0) or exit(126) }
    $ENV{NXVM_COMMAND} = $o->{command} if defined $o->{command};
    setpgrp(0, 0) or exit(126);
    exec(@{ $o->{argv} }) or exit(127);
  }
  # Here too, as shells do: whichever of the two runs first, the group
  # exists before the agent may signal it (an error means the child made it).
  setpgrp($pid, $pid);
  close($out_w);
  close($err_w);
  close($in_r) if $in_r;
  nonblocking($_) for grep { defined } ($out_r, $err_r, $in_w);
  return { pid => $pid, out => $out_r, err => $err_r, in => $in_w, queue => '', eof => 0 };
}

# A spare: an sh started ahead of time, in a process group of its own, that waits
# for its command on a pipe. Starting the process is most of a command's round
# trip in a TCG guest (the fork, and the exec of /bin/sh and its libraries),
# so the agent starts a spare whenever an sh command ends, to be ready in the
# pause before the host's next command, which then takes it at once (a test
# that runs bash does not pay for spares it would not use). The
# spare sources the pipe, which holds two lines: one closes the pipe (the
# command inherits none of ours) and sets stdin, the other evals the command
# single-quoted, as the environment path evals it. A bash command, one that
# comes while no spare waits (another runs), or one longer than PIPE_BUF (one
# write into the empty pipe takes it whole) starts a process of its own.
my $SPARE_SCRIPT_MAX = 4096;
my $spare;

sub start_spare {
  pipe(my $script_r, my $script_w) or return;
  my $fd = fileno($script_r);
  my $p = start_process({ stdin => 1, keep => $script_r, argv => [$SH[0], '-c', ". /proc/self/fd/$fd"] });
  close($script_r);
  return unless ref $p;
  @$p{qw(script script_fd)} = ($script_w, $fd);
  $by_pid{$p->{pid}} = $spare = $p;
}

sub take_spare {
  my ($flags, $command) = @_;
  return undef if !$spare || $flags & 2;
  (my $quoted = $command) =~ s/'/'\\''/g;
  my $script = "exec $spare->{script_fd}<&-" . ($flags & 1 ? '' : ' </dev/null') . "\neval '$quoted'\n";
  return undef if length $script > $SPARE_SCRIPT_MAX;
  my $c = $spare;
  $spare = undef;
  my $n = syswrite($c->{script}, $script);
  close(delete $c->{script});
  if (($n // -1) != length $script) {
    # It died before it read: reap() drops it.
    kill('KILL', -$c->{pid});
    return undef;
  }
  if (!($flags & 1)) {
    close($c->{in});
    $c->{in} = undef;
  }
  return $c;
}

sub spawn {
  my ($id, $payload) = @_;
  my ($flags, $command) = (ord(substr($payload, 0, 1)), substr($payload, 1));
  my $shell = $flags & 2 ? \@BASH : \@SH;
  return send_frame('S', $id, "refused $shell->[0] is not in this system") unless -x $shell->[0];
  my $c = take_spare($flags, $command)
    // start_process({ stdin => $flags & 1, command => $command, argv => $shell });
  return failed_start($id, $c) unless ref $c;
  @$c{qw(id bash)} = ($id, $flags & 2);
  $commands{$id} = $c;
  $by_pid{$c->{pid}} = $c;
}

sub failed_start {
  my ($id, $why) = @_;
  send_frame('E', $id, "nx-qemu-vm agent: $why\n");
  send_frame('S', $id, 'exit 126');
}

# Forwards what a command wrote; returns false at end of file.
sub forward {
  my ($c, $key, $type) = @_;
  my $n = sysread($c->{$key}, my $data, $CHUNK);
  return 1 if !defined $n && retry_later;
  if ($n) {
    send_frame($type, $c->{id}, $data);
    return 1;
  }
  close($c->{$key});
  $c->{$key} = undef;
  return 0;
}

sub feed_stdin {
  my ($c) = @_;
  if (length $c->{queue}) {
    my $n = syswrite($c->{in}, $c->{queue});
    if (defined $n) { substr($c->{queue}, 0, $n) = '' }
    elsif (!retry_later) { $c->{queue} = ''; $c->{eof} = 1 }    # it closed its stdin
  }
  if (!length $c->{queue} && $c->{eof}) {
    close($c->{in});
    $c->{in} = undef;
  }
}

sub finish {
  my ($c, $wait_status) = @_;
  # Everything the command itself wrote is in the pipes by now.
  for my $pair (['out', 'O'], ['err', 'E']) {
    my ($key, $type) = @$pair;
    while ($c->{$key}) {
      my $n = sysread($c->{$key}, my $data, $CHUNK);
      if ($n) { send_frame($type, $c->{id}, $data); next }
      if (!defined $n && retry_later) {
        $leftover{fileno $c->{$key}} = $c->{$key};
      } else {
        close($c->{$key});
      }
      $c->{$key} = undef;
    }
  }
  close($c->{in}) if $c->{in};
  my $status = ($wait_status & 127)
    ? 'signal ' . ($wait_status & 127)
    : 'exit ' . ($wait_status >> 8);
  send_frame('S', $c->{id}, $status);
  delete $commands{$c->{id}};
  delete $by_pid{$c->{pid}};
  start_spare() unless $spare || $c->{bash};
}

# A spare that ended before it was given a command (killed in the guest, or it could not start).
sub drop_spare {
  my ($p) = @_;
  $spare = undef if $spare && $spare == $p;
  delete $by_pid{$p->{pid}};
  close($_) for grep { defined } @$p{qw(out err in script)};
}

sub reap {
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $c = $by_pid{$pid} or next;
    if (defined $c->{id}) { finish($c, $?) }
    else { drop_spare($c) }
  }
}

# The agent makes a few system calls itself: just after a restore, a guest
# runs cold under TCG, and each program it starts there costs a tenth of a
# second or more (the test API unmounts and mounts shares, sets the clock and
# reseeds the random generator around a snapshot). One call a line: the
# call's number, which the host gives as it knows the guest's architecture,
# or "reseed"; then its arguments, tab-separated, each "i:DECIMAL" or
# "x:HEX" (bytes, passed by address; Perl ends every string with a NUL).
sub system_calls {
  my ($id, $payload) = @_;
  my @errnos;
  for my $line (split /\n/, $payload) {
    my ($call, @words) = split /\t/, $line;
    my @args = map { /^i:(-?[0-9]+)$/ ? $1 + 0 : /^x:((?:[0-9a-f]{2})*)$/ ? pack('H*', $1) : undef } @words;
    if (grep { !defined } @args) { push @errnos, 22 }    # EINVAL
    elsif ($call eq 'reseed') { push @errnos, reseed(@args) }
    elsif ($call =~ /^[0-9]+$/) { push @errnos, syscall($call + 0, @args) == -1 ? $! + 0 : 0 }
    else { push @errnos, 38 }    # ENOSYS
  }
  send_frame('O', $id, join('', map { "$_\n" } @errnos));
  send_frame('S', $id, 'exit 0');
}

# Fresh bytes into the kernel's pool, then RNDRESEEDCRNG (_IO('R', 0x07)):
# its generator takes them at once, not at its next reseed.
sub reseed {
  my ($bytes) = @_;
  open(my $f, '>', '/dev/urandom') or return $! + 0;
  defined(syswrite($f, $bytes // '')) or return $! + 0;
  ioctl($f, 0x5207, 0) or return $! + 0;
  return 0;
}

my $inbuf = '';
sub handle_frame {
  my ($type, $id, $payload) = @_;
  if ($type eq 'P') { hello() }
  elsif ($type eq 'X') { spawn($id, $payload) if length $payload && !$commands{$id} }
  elsif ($type eq 'Y') { system_calls($id, $payload) }
  elsif ($type eq 'I') {
    my $c = $commands{$id} or return;
    return unless $c->{in};
    if (length $payload) { $c->{queue} .= $payload } else { $c->{eof} = 1 }
  } elsif ($type eq 'K') {
    my $c = $commands{$id} or return;
    return unless $payload =~ /^[0-9]+$/;
    # The group, and the command itself in case it has not made its group yet.
    kill(-int($payload), $c->{pid});
    kill(int($payload), $c->{pid});
  }
}

sub read_channel {
  my $n = sysread($in, my $data, $CHUNK);
  return if !defined $n && retry_later;
  if (!$n) {
    exit 0 if $stdio;
    # A virtio port reads as end of file while no host is connected: wait for one.
    select(undef, undef, undef, 0.2);
    return;
  }
  $inbuf .= $data;
  while (length $inbuf >= 9) {
    my ($type, $id, $len) = unpack('a1 N N', $inbuf);
    die "agent: frame of $len bytes is too long\n" if $len > $MAX_FRAME;
    last if length $inbuf < 9 + $len;
    my $payload = substr($inbuf, 9, $len);
    substr($inbuf, 0, 9 + $len) = '';
    handle_frame($type, $id, $payload);
  }
}

hello();
# Stage 2 holds back the rest of the boot's start-up until the agent is up
# (NXVM_AGENT_READY names the file to create): on one vCPU they would slow it.
if (my $ready = $ENV{NXVM_AGENT_READY}) {
  my $fh;
  close($fh) if open($fh, '>', $ready);
}
while (1) {
  if ($going_down) {
    send_frame('D', 0, '');
    kill('TERM', -$_->{pid}) for values %commands;
    kill('TERM', -$spare->{pid}) if $spare;
    exit 0;
  }
  my ($rin, $win) = ('', '');
  vec($rin, fileno($in), 1) = 1;
  vec($rin, fileno($wake_r), 1) = 1;
  for my $c (values %commands) {
    vec($rin, fileno($c->{$_}), 1) = 1 for grep { $c->{$_} } qw(out err);
    vec($win, fileno($c->{in}), 1) = 1 if $c->{in} && (length $c->{queue} || $c->{eof});
  }
  vec($rin, $_, 1) = 1 for keys %leftover;
  my $ready = select(my $rout = $rin, my $wout = $win, undef, undef);
  next if $ready < 0;    # interrupted by a signal
  if (vec($rout, fileno($wake_r), 1)) {
    1 while sysread($wake_r, my $drop, 64);
    reap();
  }
  read_channel() if vec($rout, fileno($in), 1);
  for my $c (values %commands) {
    forward($c, 'out', 'O') if $c->{out} && vec($rout, fileno($c->{out}), 1);
    forward($c, 'err', 'E') if $c->{err} && vec($rout, fileno($c->{err}), 1);
    feed_stdin($c) if $c->{in} && vec($wout, fileno($c->{in}), 1);
  }
  for my $fd (keys %leftover) {
    next unless vec($rout, $fd, 1);
    my $n = sysread($leftover{$fd}, my $drop, $CHUNK);
    next if !defined $n && retry_later;
    close(delete $leftover{$fd}) unless $n;
  }
  reap();
}
