#!/bin/sh
echo "SciServer image $SCISERVER_IMAGE"
exec "$@"
