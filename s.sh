#!/bin/sh
exec 8</tmp/m7/disk
sleep 3
